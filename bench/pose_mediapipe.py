"""Google's MediaPipe 0.10.14 on a video, timed as `dancenow pose` times itself.

    python bench/pose_mediapipe.py VIDEO body|holistic

Decodes every frame with OpenCV and runs the legacy Pose solution (body; model
complexity 1, the pose_landmark_full model) or Holistic (body + hands + face), in video
mode. Prints "fps: N" for decoding plus detection, from the first frame to the last.
"""
import sys
import time

import cv2
import mediapipe as mp


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "body":
        solution = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    else:
        solution = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1)
    video = cv2.VideoCapture(path)
    frames, found = 0, 0
    start = time.perf_counter()
    while True:
        ok, bgr = video.read()
        if not ok:
            break
        result = solution.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        frames += 1
        found += result.pose_landmarks is not None
    seconds = time.perf_counter() - start
    print(f"frames: {frames}, with a person: {found}")
    print(f"fps: {frames / seconds:.2f}")


if __name__ == "__main__":
    main()
