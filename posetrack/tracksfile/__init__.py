"""The tracks file (``posetrack-tracks``): its schema, reading and writing, the append-only journal
of a run in progress, resume, and exports to other formats (PoseTrack 2017/2018, COCO, CSV).
"""
