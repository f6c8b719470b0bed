"""posetrack: find, estimate, track, score and draw human poses in video.

HRNet (Sun et al., CVPR 2019) estimates keypoints in person boxes; a FlowTrack-style
tracker (Xiao et al., 2018) links them across frames with optical flow and OKS.

Example:
    >>> from posetrack.models import build_pose_model
    >>> from posetrack.pose import PoseEstimator
    >>> model = build_pose_model("w32_256x192")           # random weights
    >>> estimator = PoseEstimator(model, flip_test=True)
    >>> import numpy as np
    >>> frame = np.zeros((480, 640, 3), np.uint8)
    >>> estimator(frame, np.array([[100, 50, 300, 450]])).shape
    (1, 17, 3)

Torch and OpenCV are imported by the modules that need them, never by this one, so
``import posetrack`` and ``posetrack --help`` stay fast.
"""

__version__ = "0.1.0"
