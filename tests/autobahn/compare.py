#!/usr/bin/env python3
"""Compares an Autobahn index.json with the expected results checked into the repo.

Usage: compare.py INDEX_JSON EXPECTED_JSON [--update]
Fails when a case is missing, FAILED, or its behaviour differs from the expected one.
"""
import json
import sys

index_path, expected_path = sys.argv[1], sys.argv[2]
update = "--update" in sys.argv[3:]
with open(index_path) as f:
    index = json.load(f)
results = {}
for agent, cases in index.items():
    for case, r in cases.items():
        results[case] = [r["behavior"], r["behaviorClose"]]

if update:
    with open(expected_path, "w") as f:
        json.dump(dict(sorted(results.items(), key=lambda kv: [int(p) for p in kv[0].split(".")])), f, indent=0)
        f.write("\n")
    print(f"{expected_path}: {len(results)} cases written")
    sys.exit(0)

with open(expected_path) as f:
    expected = json.load(f)
problems = []
for case, want in expected.items():
    got = results.get(case)
    if got is None:
        problems.append(f"{case}: missing (expected {want})")
    elif got != want:
        problems.append(f"{case}: got {got}, expected {want}")
for case, got in results.items():
    if "FAILED" in got:
        problems.append(f"{case}: FAILED")
name = expected_path.rsplit("/", 1)[-1]
if problems:
    print(f"autobahn {name}: {len(problems)} regressions")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"autobahn {name}: {len(results)} cases as expected")
