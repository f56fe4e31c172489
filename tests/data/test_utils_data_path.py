"""`eager.utils.data` is PyTorch's torch.utils.data path to the same objects."""
from __future__ import annotations

import eager
import eager.utils.data as utils_data
from eager import data


def test_utils_data_exposes_the_same_objects():
    assert utils_data.DataLoader is data.DataLoader and eager.utils.data.TensorDataset is data.TensorDataset
    assert set(data.__all__) <= set(dir(utils_data))
