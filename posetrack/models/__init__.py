"""Neural networks and how they run: HRNet and its spec table, the cost table, the model registry,
checkpoints, backends (torch, ONNX Runtime, TensorRT), BatchNorm folding, ONNX export, devices.
"""
