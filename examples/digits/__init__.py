"""Handwritten digits (scikit-learn's 8x8 set): a small CNN and an MLP trained eagerly."""
