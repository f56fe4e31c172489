"""Module machinery: registration, iteration, modes, state dicts, hooks, repr."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import eager
from eager import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.head = nn.Sequential(nn.Linear(3, 2))
        self.scale = nn.Parameter(eager.ones(1))
        self.register_buffer("steps", eager.zeros(1, dtype=eager.int64))
        self.register_buffer("scratch", eager.zeros(2), persistent=False)
        self.plain = 7

    def forward(self, x):
        x = self.act(self.fc1(x))
        for block in self.blocks:
            x = block(x)
        return self.head(x) * self.scale


def test_attributes_register_parameters_buffers_and_modules_in_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
        "blocks.1.bias", "head.0.weight", "head.0.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "blocks", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "blocks", "blocks.0", "blocks.1", "head",
                                                   "head.0"]
    assert net.plain == 7 and "plain" not in net._parameters


def test_state_dict_matches_pytorch_key_order_and_skips_non_persistent_buffers():
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(4, 3)
            self.act = torch.nn.ReLU()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)])
            self.head = torch.nn.Sequential(torch.nn.Linear(3, 2))
            self.scale = torch.nn.Parameter(torch.ones(1))
            self.register_buffer("steps", torch.zeros(1, dtype=torch.int64))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    assert list(Net().state_dict()) == list(TorchNet().state_dict())


def test_shared_parameter_is_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_reassigning_a_parameter_to_none_and_rejecting_wrong_types():
    lin = nn.Linear(2, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        lin.weight = eager.zeros(2, 2)
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(eager.zeros(1))
        Broken()


def test_load_state_dict_copies_in_place_and_keeps_parameter_identity():
    src, dst = Net(), Net()
    weight = dst.fc1.weight
    dst.load_state_dict(src.state_dict())
    assert dst.fc1.weight is weight
    np.testing.assert_array_equal(dst.fc1.weight.detach().numpy(), src.fc1.weight.detach().numpy())


def test_load_state_dict_error_lists_missing_unexpected_and_wrong_shape_keys():
    state = Net().state_dict()
    del state["fc1.bias"]
    state["extra.weight"] = eager.zeros(1)
    state["head.0.weight"] = eager.zeros(5, 5)
    with pytest.raises(RuntimeError) as info:
        Net().load_state_dict(state)
    text = str(info.value)
    assert text.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "fc1.bias".' in text
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in text
    assert ("size mismatch for head.0.weight: copying a param with shape (5, 5) from checkpoint, the shape in "
            "current model is (2, 3).") in text


def test_load_state_dict_non_strict_reports_keys_but_still_rejects_shapes():
    state = Net().state_dict()
    del state["fc1.bias"]
    state["extra"] = eager.zeros(1)
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["extra"]
    state["fc1.weight"] = eager.zeros(1, 1)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        Net().load_state_dict(state, strict=False)


def test_train_eval_propagate_to_every_submodule():
    net = Net().eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_requires_grad():
    net = Net()
    net(eager.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_casts_floating_parameters_and_keeps_int_buffers():
    net = Net()
    weight = net.fc1.weight
    net.to(eager.float64)
    assert net.fc1.weight is weight and weight.dtype == eager.float64
    assert net.steps.dtype == eager.int64
    assert net(eager.randn(2, 4, dtype=eager.float64)).dtype == eager.float64


def test_apply_visits_children_before_parents():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.index("Linear") < seen.index("ModuleList")


def test_forward_hooks_can_replace_inputs_and_outputs_and_be_removed():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(eager.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(lin.bias.detach().numpy() + 1, (3, 2)),
                               rtol=1e-6)
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    assert lin(eager.ones(1, 2)).shape == (1, 2) and calls == [(3, 2)]


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2, bias=False), nn.Flatten()))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Flatten()))
    assert repr(ours) == repr(theirs)


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward"'):
        nn.Module()(1)


def test_containers_index_slice_append_insert_delete():
    seq = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Tanh())
    assert isinstance(seq[-1], nn.Tanh) and isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    seq.append(nn.Sigmoid())
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2", "3"]
    with pytest.raises(IndexError, match="out of range for Sequential of length 4"):
        seq[4]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_get_submodule_and_parameter_by_dotted_path():
    net = Net()
    assert net.get_submodule("blocks.1") is net.blocks[1]
    assert net.get_parameter("head.0.bias") is net.head[0].bias
    with pytest.raises(AttributeError, match="no submodule `nope`"):
        net.get_submodule("blocks.nope")


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    with eager.no_grad():
        twin.fc1.weight.data[...] = 0
    assert float(net.fc1.weight.abs().sum()) > 0
    assert isinstance(twin.fc1.weight, nn.Parameter)


def test_parameter_repr_and_defaults():
    p = nn.Parameter(eager.zeros(2))
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(eager.zeros(1), requires_grad=False).requires_grad


def test_parameter_list_and_dict_register_their_parameters():
    torch = pytest.importorskip("torch")
    plist = nn.ParameterList([eager.zeros(2), nn.Parameter(eager.ones(3))]).append(eager.zeros(1))
    pdict = nn.ParameterDict({"a": eager.zeros(2)})
    pdict["b"] = nn.Parameter(eager.ones(1))
    theirs_list = torch.nn.ParameterList([torch.zeros(2), torch.ones(3)]).append(torch.zeros(1))
    assert list(plist.state_dict()) == list(theirs_list.state_dict()) == ["0", "1", "2"]
    assert all(p.requires_grad for p in plist) and plist[1].shape == (3,)
    assert list(pdict.keys()) == ["a", "b"] and "a" in pdict and len(pdict) == 2


@pytest.mark.skipif(eager.cuda.is_available(), reason="checks the message without a GPU")
def test_moving_to_a_missing_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        Net().to("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not eager.cuda.is_available(), reason="needs CuPy and a GPU")
def test_training_step_on_the_gpu_matches_the_cpu():
    cpu = Net()
    gpu = copy.deepcopy(cpu).to("cuda")
    opt_cpu = eager.optim.Adam(cpu.parameters(), lr=0.1)
    opt_gpu = eager.optim.Adam(gpu.parameters(), lr=0.1)
    x = eager.randn(5, 4)
    for model, opt, inp in ((cpu, opt_cpu, x), (gpu, opt_gpu, x.to("cuda"))):
        model(inp).pow(2).mean().backward()
        opt.step()
    for (name, a), (_, b) in zip(cpu.state_dict().items(), gpu.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.cpu().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
