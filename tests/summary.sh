#!/bin/sh
# tests/summary.sh LOG...
#
# Prints one line, "N passed, N failed" (", N skipped" when some were), from
# the logs that automake's test harness wrote for each test program.
#
# - A log with Check summary lines ("NN%: Checks: C, Failures: F, Errors: E")
#   counts C-F-E passed and F+E failed (several summary lines are added up).
# - A log without one is judged by the harness's .trs file beside it
#   (":test-result: PASS|SKIP|XFAIL|FAIL|ERROR|XPASS"): that is how plain
#   script tests count, and how a Check program that crashed before its
#   summary counts as 1 failed.
# - A log whose Check summary shows no failure but whose program still
#   failed (e.g. it crashed or leaked after the summary) adds 1 failed.
# - A log that is missing, or has neither summary nor .trs, counts as
#   1 failed.
# Every log counted as failed for one of the last three reasons is named on
# stderr. Exit status: 0 when nothing failed, 1 otherwise.

# The verdict of the harness for one log: pass, skip, fail, or none.
sum_trs_result()
{
    trs="${1%.log}.trs"
    [ -r "$trs" ] || { echo none; return; }
    sed -n 's/^:test-result: *//p' "$trs" | awk '
        /^(FAIL|ERROR|XPASS)/ { bad = 1 }
        /^(PASS|XFAIL)/       { good = 1 }
        /^SKIP/               { skip = 1 }
        END {
            if (bad) print "fail"
            else if (good) print "pass"
            else if (skip) print "skip"
            else print "none"
        }'
}

passed=0
failed=0
skipped=0
for log in "$@"; do
    if [ ! -r "$log" ]; then
        echo "summary.sh: $log: no such log (counted as 1 failed)" >&2
        failed=$((failed + 1))
        continue
    fi
    # n = number of Check summary lines, p = passed, f = failed.
    read -r n p f <<EOF
$(awk -F'[:,] *' '
    /^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
        n++; c += $3; fl += $5; e += $7
    }
    END { print n + 0, c - fl - e, fl + e }' "$log")
EOF
    verdict=$(sum_trs_result "$log")
    if [ "$n" -gt 0 ]; then
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -eq 0 ] && [ "$verdict" = fail ]; then
            echo "summary.sh: $log: all checks passed but the program failed (counted as 1 failed)" >&2
            failed=$((failed + 1))
        fi
        continue
    fi
    case $verdict in
    pass) passed=$((passed + 1)) ;;
    skip) skipped=$((skipped + 1)) ;;
    fail)
        echo "summary.sh: $log: no Check summary line, the program failed (counted as 1 failed)" >&2
        failed=$((failed + 1)) ;;
    *)
        echo "summary.sh: $log: no Check summary line and no result (counted as 1 failed)" >&2
        failed=$((failed + 1)) ;;
    esac
done

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
