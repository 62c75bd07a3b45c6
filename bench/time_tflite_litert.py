"""Per-model forward times of the MediaPipe models in Google's reference interpreter, for
comparison with `cargo run --release -p dancenow-nn --example time_tflite`.

    python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert==2.3.0 numpy
    /tmp/litert/bin/python bench/time_tflite_litert.py MODELS_DIR [MODEL_NAME...]

MODELS_DIR is setup's MediaPipe folder (.deps/models/mediapipe). Random input, 5 warm-up
runs, then the mean of 30, with 1 and 2 threads (XNNPACK, the interpreter's default).
"""
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

MODELS = ["pose_detection", "pose_landmark_full", "hand_landmark_full", "hand_recrop",
          "face_landmark", "face_detection_short_range"]


def main():
    folder, asked = sys.argv[1], sys.argv[2:]
    for name in MODELS:
        if asked and name not in asked:
            continue
        for threads in (1, 2):
            interpreter = Interpreter(model_path=f"{folder}/{name}.tflite", num_threads=threads)
            interpreter.allocate_tensors()
            for detail in interpreter.get_input_details():
                interpreter.set_tensor(detail["index"],
                                       np.random.rand(*detail["shape"]).astype(np.float32))
            for _ in range(5):
                interpreter.invoke()
            start = time.perf_counter()
            for _ in range(30):
                interpreter.invoke()
            ms = (time.perf_counter() - start) / 30 * 1e3
            print(f"{name:<28} threads {threads}: {ms:7.2f} ms")


if __name__ == "__main__":
    main()
