"""Shared test helpers (no tests here): test modules import these, never each other.

* :mod:`helpers.data`: where the committed reference data lives (tests/data).
* :mod:`helpers.videos`: THE synthetic-video maker (:func:`~helpers.videos.write_video`, PyAV, any
  codec), image folders, frames that show their index, reading videos back, a stand-in camera.
* :mod:`helpers.server`: THE loopback HTTP server (bytes by URL path, or a folder) and a refused URL.
* :mod:`helpers.weights`: seeded tiny-HRNet weights in the official layout, a published-weights config.
* :mod:`helpers.poses`: scripted COCO poses and flows for the tracker tests.
* Scenes built from these, each for the tests that used to define it:
  :mod:`helpers.api_data` (the API / weights / CLI-edge clip), :mod:`helpers.e2e` (``posetrack run``),
  :mod:`helpers.runpath` (run path clips and the simulated world), :mod:`helpers.many_videos` (batches),
  :mod:`helpers.render_data` (rendering: gradient clip, stick figures, known tracks).
  :mod:`helpers.review_data` (edit and review: two people crossing with a planted id swap, and its video).
  :mod:`helpers.tracking_cases` (siblings of the tracking3 cases: scene cut, exit and re-entry,
  duplicates, tiny people, crossings, with other geometry and seeds).
* :mod:`helpers.posetrack_files` and :mod:`helpers.geometry`: naive references shared by eval tests, and
  tiny PoseTrack 2017 / PoseTrack21 dataset roots (``eval --dataset-root``).
* :mod:`helpers.fuzz`: the Hypothesis settings and JSON mutations of the fuzz tests.
* :mod:`helpers.startup`: a command run in a fresh interpreter, and what it imported (start-up cost).

Fixtures that several modules use live in ``tests/conftest.py`` (``server``, ``isolated_caches``, ``video``).
"""
