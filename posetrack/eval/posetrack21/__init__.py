"""PoseTrack21 scoring, identical to the official kit (anDoer/PoseTrack21 ``eval/posetrack21``): keypoint HOTA
(DetA, AssA, LocA, ... per joint, per alpha, per sequence and combined) and the kit's pose mAP.

Modules, in pipeline order: :mod:`.read` (files to arrays, frame pairing), :mod:`.frames` (the kit's
preprocessing), :mod:`.hota`, :mod:`.pose_ap`, :mod:`.result` and :mod:`.evaluate`
(:func:`~posetrack.eval.posetrack21.evaluate.evaluate_posetrack21`). The file schema and the prediction
writer are in :mod:`posetrack.tracksfile.posetrack21`.
"""
