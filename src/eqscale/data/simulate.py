"""One MOVi-B-like trajectory (docs/data.md): sample a scene from a seed, simulate it in PyBullet.

Everything random comes from ``numpy.random.default_rng(seed)`` in a fixed order, and each
trajectory starts from ``resetSimulation``, so a seed gives the bit-identical trajectory in any
process and in any order. The caller owns the PyBullet client (one DIRECT client per worker).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eqscale.data.format import FRAMES, MAX_OBJECTS
from eqscale.data.shapes import ShapeSet

FRAME_RATE = 12
STEPS_PER_FRAME = 20  # 240 Hz physics / 12 fps
TIME_STEP = 1.0 / 240.0
MAX_PLACEMENT_TRIES = 100
GRAVITY = (0.0, 0.0, -10.0)
FLOOR = (0.0, 0.0, 1.0, 0.0)  # unit normal n, offset d: n.x = d on the floor's top face
FLOOR_HALF_SIZE = 80.0
FLOOR_FRICTION, FLOOR_RESTITUTION = 0.3, 0.5
SPAWN_LOW, SPAWN_HIGH = np.array([-5.0, -5.0, 1.0]), np.array([5.0, 5.0, 5.0])
SCALE_RANGE = (0.7, 1.4)
VELOCITY_RANGE = 4.0


@dataclass(frozen=True)
class Material:
    name: str
    friction: float
    restitution: float
    density: float


MATERIALS = (Material("metal", 0.4, 0.3, 2.7), Material("rubber", 0.8, 0.7, 1.1))


def uniform_quaternion(rng: np.random.Generator) -> np.ndarray:
    """A uniform rotation on SO(3) as a unit quaternion (w, x, y, z): a normalised 4D Gaussian."""
    while True:
        q = rng.standard_normal(4)
        norm = np.linalg.norm(q)
        if norm > 1e-6:
            return q / norm


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) in w, x, y, z order."""
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def _xyzw(q: np.ndarray) -> list[float]:
    return [float(q[1]), float(q[2]), float(q[3]), float(q[0])]


def reset_world(pb, client: int) -> int:
    """Empty world with the engine parameters, gravity and floor slab of docs/data.md; floor id."""
    pb.resetSimulation(physicsClientId=client)
    pb.setPhysicsEngineParameter(
        fixedTimeStep=TIME_STEP, restitutionVelocityThreshold=0, warmStartingFactor=0,
        useSplitImpulse=1, contactSlop=0, enableConeFriction=0, deterministicOverlappingPairs=1,
        physicsClientId=client,
    )
    pb.setGravity(*GRAVITY, physicsClientId=client)
    half = [FLOOR_HALF_SIZE, FLOOR_HALF_SIZE, 0.5]
    box = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=client)
    floor = pb.createMultiBody(0.0, box, basePosition=[0, 0, -0.5], useMaximalCoordinates=True,
                               physicsClientId=client)
    pb.changeDynamics(floor, -1, lateralFriction=FLOOR_FRICTION, restitution=FLOOR_RESTITUTION,
                      contactProcessingThreshold=0, physicsClientId=client)
    return floor


def add_object(pb, client: int, shapes: ShapeSet, shape_id: int, scale: float, mass: float,
               material: Material) -> int:
    """A dynamic body of the scaled shape; inertia is PyBullet's estimate from the shape."""
    shape = shapes.shapes[shape_id]
    col = pb.createCollisionShape(pb.GEOM_MESH, fileName=shape.collision_file,
                                  meshScale=[scale] * 3, physicsClientId=client)
    body = pb.createMultiBody(mass, col, basePosition=[0, 0, -100], useMaximalCoordinates=True,
                              physicsClientId=client)
    pb.changeDynamics(body, -1, lateralFriction=material.friction,
                      restitution=material.restitution, linearDamping=0.0, angularDamping=0.0,
                      contactProcessingThreshold=0, physicsClientId=client)
    return body


def _overlaps(pb, client: int, body: int, others: list[int]) -> bool:
    return any(pb.getClosestPoints(body, other, 0.0, physicsClientId=client) for other in others)


def place_scene(pb, client: int, shapes: ShapeSet, rng: np.random.Generator) -> dict | None:
    """Sample and place one scene; None if some object found no free pose in 100 tries."""
    floor = reset_world(pb, client)
    n = int(rng.integers(3, MAX_OBJECTS + 1))
    shape_id = rng.integers(0, len(shapes.shapes), size=n)
    scale = rng.uniform(*SCALE_RANGE, size=n)
    material_id = rng.integers(0, len(MATERIALS), size=n)
    volume = np.array([shapes.shapes[s].volume for s in shape_id])
    density = np.array([MATERIALS[m].density for m in material_id])
    mass = volume * density * scale**3
    bodies, position, quaternion = [], np.zeros((n, 3)), np.zeros((n, 4))
    for i in range(n):
        body = add_object(pb, client, shapes, int(shape_id[i]), float(scale[i]), float(mass[i]),
                          MATERIALS[material_id[i]])
        local = shapes.shapes[shape_id[i]].collision_vertices * scale[i]
        for _ in range(MAX_PLACEMENT_TRIES):
            q = uniform_quaternion(rng)
            rotated = local @ np.reshape(pb.getMatrixFromQuaternion(_xyzw(q)), (3, 3)).T
            low, high = SPAWN_LOW - rotated.min(0), SPAWN_HIGH - rotated.max(0)
            pos = rng.uniform(low, np.maximum(high, low))
            pb.resetBasePositionAndOrientation(body, pos.tolist(), _xyzw(q),
                                               physicsClientId=client)
            if not _overlaps(pb, client, body, [floor, *bodies]):
                break
        else:
            return None
        bodies.append(body)
        position[i], quaternion[i] = pos, q
    # Kubric's MOVi-B: a random horizontal velocity biased toward the centre, no spin.
    velocity = rng.uniform([-VELOCITY_RANGE, -VELOCITY_RANGE, 0.0],
                           [VELOCITY_RANGE, VELOCITY_RANGE, 0.0], size=(n, 3))
    velocity[:, :2] -= position[:, :2]
    for body, v in zip(bodies, velocity):
        pb.resetBaseVelocity(body, v.tolist(), [0.0, 0.0, 0.0], physicsClientId=client)
    return dict(bodies=bodies, shape_id=shape_id, material_id=material_id, scale=scale,
                mass=mass, position=position, quaternion=quaternion, velocity=velocity)


def record(pb, client: int, bodies: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Step the world for 25 frames; positions (n, F, 3) and quaternions (n, F, 4) w x y z."""
    n = len(bodies)
    positions, quaternions = np.zeros((n, FRAMES, 3)), np.zeros((n, FRAMES, 4))
    for f in range(FRAMES):
        if f > 0:
            for _ in range(STEPS_PER_FRAME):
                pb.stepSimulation(physicsClientId=client)
        for k, body in enumerate(bodies):
            pos, (x, y, z, w) = pb.getBasePositionAndOrientation(body, physicsClientId=client)
            positions[k, f], quaternions[k, f] = pos, (w, x, y, z)
    return positions, quaternions


def simulate_trajectory(pb, client: int, shapes: ShapeSet, seed: int) -> dict[str, np.ndarray]:
    """The trajectory of ``seed`` as one row of the dataset arrays (padded to 10 objects)."""
    rng = np.random.default_rng(seed)
    scene = None
    while scene is None:  # resample the whole scene if an object could not be placed
        scene = place_scene(pb, client, shapes, rng)
    positions, quaternions = record(pb, client, scene["bodies"])
    n, K = len(scene["bodies"]), MAX_OBJECTS
    out = {
        "positions": np.zeros((K, FRAMES, 3), np.float32),
        "quaternions": np.zeros((K, FRAMES, 4), np.float32),
        "mask": np.zeros(K, bool),
        "shape_id": np.zeros(K, np.int64),
        "material_id": np.zeros(K, np.int64),
        "scale": np.zeros(K, np.float32),
        "mass": np.zeros(K, np.float32),
        "friction": np.zeros(K, np.float32),
        "restitution": np.zeros(K, np.float32),
        "floor": np.asarray(FLOOR, np.float32),
        "gravity": np.asarray(GRAVITY, np.float32),
        "seed": np.int64(seed),
    }
    out["quaternions"][:, :, 0] = 1.0  # padding slots hold the identity rotation
    out["positions"][:n], out["quaternions"][:n] = positions, quaternions
    out["mask"][:n] = True
    out["shape_id"][:n], out["material_id"][:n] = scene["shape_id"], scene["material_id"]
    out["scale"][:n], out["mass"][:n] = scene["scale"], scene["mass"]
    out["friction"][:n] = [MATERIALS[m].friction for m in scene["material_id"]]
    out["restitution"][:n] = [MATERIALS[m].restitution for m in scene["material_id"]]
    return out


class BulletClient:
    """A private DIRECT PyBullet client, disconnected on exit.

    Usage: ``with BulletClient() as (pb, client): ...``
    """

    def __enter__(self):
        import pybullet

        self.pb = pybullet
        self.client = pybullet.connect(pybullet.DIRECT)
        return pybullet, self.client

    def __exit__(self, *exc) -> None:
        self.pb.disconnect(physicsClientId=self.client)
