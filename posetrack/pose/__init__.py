"""From images to poses: the person detector, crops (affine transforms), heatmap decoding and the
pose estimator that ties them together.
"""
