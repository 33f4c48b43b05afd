#!/usr/bin/env python3
"""A groups file for `vitnt eval --groups` from FairFace's label CSVs (docs/fairness.md).

    /usr/bin/python3 tools/eval/fairface_groups.py ../shared/data/fairface112 val > groups_val.csv

Writes `path,gender,race,age` (paths relative to the FairFace folder: give `vitnt eval
--images-root` that folder) for the images of the split (`val` or `train`) that exist in
the aligned set; the labels are FairFace's own (perceived, annotated), as published,
except two age bands the label files carry as spreadsheet dates ("03-Sep" = 3-9,
"Oct-19" = 10-19), written back as the bands they are.
"""
import csv
import os
import sys

AGE_FIX = {"03-Sep": "3-9", "Oct-19": "10-19"}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("val", "train"):
        sys.exit("usage: fairface_groups.py FAIRFACE_DIR val|train > groups.csv")
    root, split = sys.argv[1], sys.argv[2]
    labels = os.path.join(root, f"fairface_label_{split}.csv")
    if not os.path.exists(labels):
        sys.exit(f"{labels}: no such file")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["path", "gender", "race", "age"])
    n = missing = 0
    with open(labels) as f:
        for row in csv.DictReader(f):
            if not os.path.exists(os.path.join(root, row["file"])):
                missing += 1
                continue
            out.writerow([row["file"], row["gender"], row["race"],
                          AGE_FIX.get(row["age"], row["age"])])
            n += 1
    print(f"{n} images of {split}, {missing} listed but not in {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
