"""The run stage: what ``posetrack run`` and ``posetrack track`` do, from options to files.

``options`` (RunOptions in four parts, the resume identity) -> ``configs`` (the detector,
tracker and flow settings, overrides applied once) and ``weights`` (the files a run needs) ->
``loading`` (the networks) -> ``frames`` (detect, pose and track in batches) -> ``journaled``
(the frame loop, journal and render of one run) -> ``runner`` (``stream``, ``run_video``);
``outputs`` (where a run writes, path checks, exports), ``retrack`` (re-tracking a file),
``batch`` / ``engines`` (many videos, local or on Ray) and ``dataset_eval`` (a PoseTrack split).
"""
