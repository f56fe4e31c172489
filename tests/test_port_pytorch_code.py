"""PyTorch training code runs unchanged with `import eager as torch` and gives the same weights."""
from __future__ import annotations

import numpy as np
import pytest

import eager

torch_module = pytest.importorskip("torch")

PROGRAM = '''
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(x, 1))


def train(x, y, initial_state, path):
    model = Net()
    model.load_state_dict(initial_state)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    data = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(3):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        scheduler.step()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, path)
    restored = Net()
    restored.load_state_dict(torch.load(path)["model"])
    restored.eval()
    with torch.no_grad():
        return restored(torch.tensor(x)), restored.state_dict()
'''


def _run(module, x, y, state, path):
    namespace = {"torch": module}
    exec(PROGRAM, namespace)  # noqa: S102 - the same source under both frameworks is the point
    return namespace["train"](x, y, state, str(path))


def test_the_same_program_trains_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    namespace = {"torch": torch_module}
    exec(PROGRAM, namespace)  # noqa: S102
    state = namespace["Net"]().state_dict()
    theirs_out, theirs_state = _run(torch_module, x, y, state, tmp_path / "torch.pt")
    ours_out, ours_state = _run(eager, x, y, {k: eager.tensor(v.numpy()) for k, v in state.items()},
                                tmp_path / "eager.esc")
    assert list(ours_state) == list(theirs_state)
    for key in theirs_state:
        np.testing.assert_allclose(ours_state[key].numpy(), theirs_state[key].numpy(), rtol=2e-4, atol=2e-5,
                                   err_msg=key)
    np.testing.assert_allclose(ours_out.numpy(), theirs_out.numpy(), rtol=2e-4, atol=2e-5)
