"""Neural networks and how they run: HRNet and its spec table, the cost table, the model registry,
checkpoints, backends (torch, ONNX Runtime, TensorRT), BatchNorm folding, ONNX export, devices.
"""

#: The pose model a run uses unless told otherwise (``posetrack run --pose-model``): HRNet-W48 at 384x288,
#: the paper's most accurate COCO setting (Sun et al., CVPR 2019, Table 1).
DEFAULT_POSE_MODEL = "w48_384x288"
#: Person crops per pose forward pass unless a run says otherwise (``posetrack run --batch-size``).
DEFAULT_BATCH_SIZE = 32
