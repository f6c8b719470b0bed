"""Model, detector, tracker and run settings shipped with posetrack (read with importlib.resources)."""
