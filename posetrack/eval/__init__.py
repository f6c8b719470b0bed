"""Scoring against PoseTrack ground truth, quirk for quirk as the official poseval: file formats,
frame pairing, per-joint AP, CLEAR-MOT MOTA and reports. Imports neither torch nor OpenCV.
"""
