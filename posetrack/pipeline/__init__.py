"""The run stage: options, the frame pipeline that calls detect, pose and track in batches, the
runner that journals a tracks file, re-tracking, many videos and their engines (local, Ray).
"""
