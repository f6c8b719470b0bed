"""Drawing skeletons, boxes and ids on frames, and rendering annotated videos from tracks files.
"""
