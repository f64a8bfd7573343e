"""Motor projection and conversion to rotation matrices and translations."""

import torch
from scipy.spatial.transform import Rotation

from eqscale.ga import embed_rotation, embed_translation, geometric_product, reverse
from eqscale.models.motors import even_part, motor_to_motion, normalize_motor


def _random_motors(n, seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, 4, generator=g, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    t = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return q, t, geometric_product(embed_translation(t), embed_rotation(q))


def test_motor_to_motion_matches_quaternion_and_translation():
    q, t, motor = _random_motors(8, 0)
    motion = motor_to_motion(motor[None])
    expected = Rotation.from_quat(q[:, [1, 2, 3, 0]].numpy()).as_matrix()
    assert torch.allclose(motion.rotation[0], torch.from_numpy(expected), atol=1e-12)
    assert torch.allclose(motion.translation[0], t, atol=1e-12)


def test_normalize_motor_projects_onto_motors():
    g = torch.Generator().manual_seed(1)
    m = even_part(torch.randn(20, 16, generator=g, dtype=torch.float64))
    n = normalize_motor(m)
    norm = geometric_product(n, reverse(n))
    one = torch.zeros(16, dtype=torch.float64)
    one[0] = 1.0
    assert torch.allclose(norm, one.expand_as(norm), atol=1e-12)
    assert torch.allclose(normalize_motor(n), n, atol=1e-12)  # idempotent
    _, _, motor = _random_motors(5, 2)
    assert torch.allclose(normalize_motor(3.0 * motor), motor, atol=1e-12)


def test_even_part_drops_odd_grades():
    kept = even_part(torch.ones(16)).nonzero().flatten().tolist()
    assert kept == [0, 5, 6, 7, 8, 9, 10, 15]  # scalar, the six bivectors, the pseudoscalar
