"""Mult-VAE/DAE on sparse batches: the same outputs and gradients as dense ones,
dropout on the stored entries, and parameters that keep their memory layout in
the flat training buffer."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from aekit.nn import MultVAEConfig, MultVAENet
from aekit.training import FlatParameters, HeldOutUsers, SparseRows


def clicks(n_users=12, n_items=30, density=0.2, seed=0) -> sp.csr_matrix:
    M = sp.random(n_users, n_items, density, "csr", np.float32, random_state=seed)
    M.data[:] = 1.0
    keep = np.ones(n_users, np.float32)
    keep[3] = 0.0  # a user without clicks
    M = sp.diags(keep) @ M
    M.eliminate_zeros()
    return M.tocsr()


def outputs_and_gradients(net, x, seed=0):
    net.zero_grad()
    torch.manual_seed(seed)  # the VAE's code sample
    out = net(x)
    loss = net.loss(x, out)["loss"]
    loss.backward()
    grads = {k: p.grad.clone() for k, p in net.named_parameters()}
    return out["recon"].detach(), loss.detach(), grads


@pytest.mark.parametrize("variational", [True, False])
@pytest.mark.parametrize("hidden", [(), (8,)])
def test_sparse_batch_gives_the_dense_outputs_and_gradients(variational, hidden):
    M = clicks()
    config = MultVAEConfig(30, hidden, 4, dropout=0.0, variational=variational)
    torch.manual_seed(0)
    net = MultVAENet(config).train()
    dense = SparseRows(M, torch.device("cpu")).take(np.arange(12))
    sparse = SparseRows(M, torch.device("cpu"), sparse=True).take(np.arange(12))
    assert sparse.layout == torch.sparse_csr and len(sparse) == 12
    r_d, l_d, g_d = outputs_and_gradients(net, dense)
    r_s, l_s, g_s = outputs_and_gradients(net, sparse)
    torch.testing.assert_close(r_s, r_d, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(l_s, l_d, atol=1e-5, rtol=1e-5)
    for name in g_d:
        torch.testing.assert_close(g_s[name], g_d[name], atol=1e-5, rtol=1e-5)
    net.eval()  # and at inference (no dropout, the posterior mean)
    torch.testing.assert_close(net(sparse)["recon"], net(dense)["recon"])


def test_sparse_dropout_keeps_stored_entries_at_the_rate_and_rescales():
    M = clicks(200, 50, 0.3)
    net = MultVAENet(MultVAEConfig(50, (), 4, dropout=0.3)).train()
    captured = []
    net.input_dropout.register_forward_hook(lambda m, i, o: captured.append((i, o)))
    net(SparseRows(M, torch.device("cpu"), sparse=True).take(np.arange(200)))
    (values,), dropped = captured[0]
    kept = dropped != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.03)
    torch.testing.assert_close(dropped[kept], values[kept] / 0.7)


def test_first_layer_is_item_major_and_stays_so_in_the_flat_buffer():
    net = MultVAENet(MultVAEConfig(30, (8,), 4))
    first = net.encoder[0].weight
    assert first.shape == (8, 30) and first.stride() == (1, 8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flat = FlatParameters(net)
    assert first.stride() == (1, 8) and first.grad.stride() == (1, 8)
    for key, value in net.state_dict().items():  # the same values, now views
        torch.testing.assert_close(value, before[key])
    x = SparseRows(clicks(), torch.device("cpu"), sparse=True).take(np.arange(12))
    flat.zero_grad()
    net.loss(x, net(x))["loss"].backward()
    offset = 0
    for p in flat.params:  # each gradient is in its parameter's place
        block = flat.flat.grad[offset : offset + p.numel()]
        assert block.data_ptr() == p.grad.data_ptr()
        offset += p.numel()
    assert flat.flat.grad.abs().sum() > 0


def test_held_out_users_score_sparse_and_dense_histories_alike():
    fold_in, targets = clicks(40, 30, 0.2, seed=1), clicks(40, 30, 0.1, seed=2)
    net = MultVAENet(MultVAEConfig(30, (8,), 4)).eval()
    cpu = torch.device("cpu")
    ndcg = [
        HeldOutUsers(SparseRows(fold_in, cpu, sparse=s), targets, 5)._ndcg(net)
        for s in (False, True)
    ]
    assert 0 < ndcg[0] < 1
    assert ndcg[1] == pytest.approx(ndcg[0], abs=1e-6)


def test_ratings_helpers_are_exported_from_aekit_data():
    import aekit.data
    from aekit.data import ratings

    assert aekit.data.frame_to_matrix is ratings.frame_to_matrix
    assert aekit.data.lookup is ratings.lookup
