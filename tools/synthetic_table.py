#!/usr/bin/env python3
"""Writes a synthetic routing table with RULES rules (five per topic) for measuring how evaluation cost grows
with table size: `tools/synthetic_table.py RULES > table.yaml`. Each topic has an integer fact and four
threshold rules transferring to a scheduled line (a case when it is closed), then a first-line rule."""
import sys

rules = int(sys.argv[1])
topics = max(1, rules // 5)
print(f"table: synthetic-{rules}")
print("time_zone: Europe/Madrid")
print("schedules:\n  day: {weekly: [{days: mon-fri, hours: \"08:00-20:00\"}, {days: sat, hours: \"09:00-14:00\"}]}")
print("targets:\n  line: {name: Line, address: \"cti:line\", schedule: day, mode: blind}")
print("cases:\n  later: {category: \"Later\"}")
print("topics:")
for t in range(topics):
    print(f"  t{t}:")
    print("    facts: {n: integer}")
    print("    rules:")
    for k in range(4):
        print(f"      - {{id: t{t}.r{k}, when: {{facts.n: {{lt: {20 * (k + 1)}}}}}, transfer: line, comment: \"r{k}\", when_closed: {{case: later}}}}")
    print(f"      - {{id: t{t}.rest, first_line: \"rest\"}}")
