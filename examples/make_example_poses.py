"""Write the two synthetic pose sequences that `cargo xtask demo` uses until the detector lands.

    python3 examples/make_example_poses.py

source/: a dancer in a 1768x994 frame (the sports2d sample's size), small and high in the
         frame, stepping towards the camera while swinging the arms and bobbing.
target/: a person in a 1080x1920 frame (the pose2sim sample's size), larger and lower,
         shifting weight on the spot.
Both are OpenPose BODY_25 + 21-point hands + 70-point face, one JSON file per frame, with
sequence.json. The shapes are made up; only their geometry matters to the demo.
"""
import json
import math
import os

FPS = 30.0
FRAMES = 60

# BODY_25 point -> (x offset, height above the ankles), as fractions of the body height.
STANDING = {
    0: (0.0, 1.0), 1: (0.0, 0.87), 2: (-0.11, 0.85), 5: (0.11, 0.85), 8: (0.0, 0.52),
    9: (-0.06, 0.52), 12: (0.06, 0.52), 10: (-0.065, 0.27), 13: (0.065, 0.27),
    11: (-0.07, 0.0), 14: (0.07, 0.0), 15: (-0.02, 1.02), 16: (0.02, 1.02),
    17: (-0.045, 1.0), 18: (0.045, 1.0), 19: (0.1, -0.01), 20: (0.12, -0.01), 21: (0.06, -0.02),
    22: (-0.1, -0.01), 23: (-0.12, -0.01), 24: (-0.06, -0.02),
}


def person(cx, ankle_y, tall, t, swing):
    pts = {i: [cx + dx * tall, ankle_y - up * tall] for i, (dx, up) in STANDING.items()}
    bob = 0.03 * tall * math.sin(2 * math.pi * t / 20)
    for i in pts:
        if i not in (11, 14, 19, 20, 21, 22, 23, 24):
            pts[i][1] += bob
    # Arms: shoulder -> elbow -> wrist, swinging in opposite phase.
    hands = {}
    for side, shoulder, elbow, wrist, sign in (("right", 2, 3, 4, -1), ("left", 5, 6, 7, 1)):
        angle = math.radians(90 + sign * 60 * math.sin(2 * math.pi * t / 30 + (0 if sign > 0 else math.pi) * swing))
        sx, sy = pts[shoulder]
        ex, ey = sx + sign * 0.16 * tall * math.sin(angle), sy + 0.16 * tall * math.cos(angle)
        wx, wy = ex + sign * 0.14 * tall * math.sin(angle * 0.8), ey + 0.14 * tall * math.cos(angle * 0.8)
        pts[elbow], pts[wrist] = [ex, ey], [wx, wy]
        hand = [(wx, wy)]
        for finger in range(5):
            spread = math.radians(-40 + 20 * finger)
            for joint in range(1, 5):
                r = 0.012 * tall * joint
                hand.append((wx + sign * r * math.cos(spread), wy + r * math.sin(spread) + 0.01 * tall))
        hands[side] = hand
    body = []
    for i in range(25):
        x, y = pts[i]
        body += [round(x, 2), round(y, 2), 0.9]
    nose_x, nose_y = pts[0]
    face = []
    for k in range(70):
        a = 2 * math.pi * k / 70
        face += [round(nose_x + 0.05 * tall * math.cos(a), 2), round(nose_y + 0.06 * tall * math.sin(a), 2), 0.8]
    flat = lambda h: [v for x, y in h for v in (round(x, 2), round(y, 2), 0.7)]
    return {"person_id": [-1], "pose_keypoints_2d": body, "face_keypoints_2d": face,
            "hand_left_keypoints_2d": flat(hands["left"]), "hand_right_keypoints_2d": flat(hands["right"]),
            "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
            "hand_right_keypoints_3d": []}


def write(folder, name, width, height, place):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "sequence.json"), "w") as f:
        json.dump({"fps": FPS, "width": width, "height": height}, f, indent=2)
    for t in range(FRAMES):
        doc = {"version": 1.3, "people": [place(t)]}
        with open(os.path.join(folder, f"{name}_{t:012d}_keypoints.json"), "w") as f:
            json.dump(doc, f)


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "poses")
write(os.path.join(here, "source"), "source", 1768, 994,
      lambda t: person(884 + 80 * math.sin(t / 9), 560 + 3 * t, 300 + 1.6 * t, t, 1))
write(os.path.join(here, "target"), "target", 1080, 1920,
      lambda t: person(540 + 40 * math.sin(t / 15), 1500 + 120 * (0.5 + 0.5 * math.sin(t / 10)),
                       900 + 110 * (0.5 + 0.5 * math.sin(t / 10)), t, 0))
