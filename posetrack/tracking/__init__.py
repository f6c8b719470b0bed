"""From poses to tracks: the tracker with its config and state, association (matching), motion
models, optical flow, box propagation and offline refinement.
"""
