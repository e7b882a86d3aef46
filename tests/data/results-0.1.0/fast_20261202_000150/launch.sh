#!/bin/sh
# Written by mlconsole: runs the harness detached and records how it ended.
echo $$ > /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/pid
date +%s.%N > /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/started_at 2>/dev/null
if cd /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150; then
  sh /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/command.sh > /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/stdout.log 2> /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/stderr.log < /dev/null
  rc=$?
else
  rc=126
fi
date +%s.%N > /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/ended_at 2>/dev/null
echo $rc > /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/exit_code.tmp && mv /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/exit_code.tmp /tmp/v010/.mlconsole/nodes/fast/runs/fast_20261202_000150/exit_code
