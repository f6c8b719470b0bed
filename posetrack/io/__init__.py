"""Reading and writing outside the pipeline's math: video sources and their decoders, the video
writer, source lists, weight downloads, atomic files and the output guard (no output on an input).
"""
