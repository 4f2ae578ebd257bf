#!/usr/bin/python3
"""Regenerates the OpenCV reference output that sift_test.go compares with.

Run with Debian's OpenCV (apt-get install python3-opencv opencv-doc):

    cd internal/baseline/sift/testdata && /usr/bin/python3 gen_ref.py

Inputs: box.png and box_in_scene.png from the Debian package opencv-doc
(/usr/share/doc/opencv-doc/examples/data/, OpenCV's sample data, BSD
licence), copied here unchanged (8-bit gray PNGs).

Outputs, for each image NAME:
  NAME.kp.txt    one OpenCV SIFT keypoint per line:
                 x y size angle response octave
                 (octave as OpenCV's unpacked octave index: -1 = doubled)
  NAME.desc.txt  the descriptors of the first 40 keypoints, one per line,
                 128 values as OpenCV computes them (scaled to ~512, bytes)
and box_homography.txt: the 3x3 homography box -> box_in_scene that
RANSAC finds from OpenCV's own ratio-test matches (row-major, 9 values).
"""
import shutil

import cv2
import numpy as np

SRC = "/usr/share/doc/opencv-doc/examples/data/"
NAMES = ["box", "box_in_scene"]


def unpack_octave(o):
    o &= 255
    return o if o < 128 else (-128 | o)


def main():
    print("OpenCV", cv2.__version__)
    sift = cv2.SIFT_create()  # defaults: 3 layers, 0.04, 10, sigma 1.6
    res = {}
    for name in NAMES:
        shutil.copyfile(SRC + name + ".png", name + ".png")  # 8-bit gray already
        img = cv2.imread(name + ".png", cv2.IMREAD_GRAYSCALE)
        kps, desc = sift.detectAndCompute(img, None)
        res[name] = (kps, desc)
        with open(name + ".kp.txt", "w") as f:
            for k in kps:
                f.write("%.4f %.4f %.4f %.4f %.6f %d\n" % (
                    k.pt[0], k.pt[1], k.size, k.angle, k.response, unpack_octave(k.octave)))
        with open(name + ".desc.txt", "w") as f:
            for d in desc[:40]:
                f.write(" ".join("%d" % v for v in d) + "\n")
        print(name, img.shape, len(kps), "keypoints")
    (k1, d1), (k2, d2) = res["box"], res["box_in_scene"]
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d1, d2, k=2)
    good = [m for m, n in matches if m.distance < 0.75 * n.distance]
    src = np.float32([k1[m.queryIdx].pt for m in good])
    dst = np.float32([k2[m.trainIdx].pt for m in good])
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    print(len(good), "ratio-test matches,", int(mask.sum()), "RANSAC inliers")
    with open("box_homography.txt", "w") as f:
        f.write(" ".join("%.10g" % v for v in H.ravel()) + "\n")


if __name__ == "__main__":
    main()
