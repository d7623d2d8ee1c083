#!/usr/bin/env bash
# tina-cost on timings whose sums are worked out by hand in the comments: device-hours per stage, training vs
# evaluation, the price, the cost up to the best checkpoint, --json, and refusals.
. "$(dirname "$0")/lib.bash"

t() { # t STEP STAGE SECONDS DEVICES DEVICE
    jq -cn --argjson step "$1" --arg stage "$2" --argjson s "$3" --argjson d "$4" --arg dev "$5" \
        '{step: $step, stage: $stage, seconds: $s, devices: $d, device: $dev}'
}
{
    t 0 eval 720 1 L40S                               # 0.2 h (the base model's evaluation)
    t 1 sample 3600 2 L40S; t 1 reward 36 1 L40S       # 2 h + 0.01 h
    t 1 advantage 0 1 L40S; t 1 update 1800 1 L40S     # 0.5 h
    t 1 eval 900 1 L40S                               # 0.25 h
    t 2 sample 1800 1 L40S; t 2 gradients 900 2 L40S   # 0.5 h + 0.5 h
    t 2 update 360 1 L40S; t 2 eval 1800 1 L40S        # 0.1 h; 0.5 h
} > times.jsonl
# training: 2 + 0.01 + 0.5 + 0.5 + 0.5 + 0.1 = 3.61 h; evaluation 0.2 + 0.25 + 0.5 = 0.95 h; total 4.56 h
# up to step 1: training 2.51 h, evaluation 0.45 h, 2.96 h; at 2.5 a device-hour: 9.025, 2.375, 11.4, 7.4
# seconds: training 3600 + 36 + 0 + 1800 + 1800 + 900 + 360 = 8496, evaluation 720 + 900 + 1800 = 3420, 11916 in
# all; up to step 1: 5436 + 1620 = 7056

run tina-cost --json --best-step 1 --price-per-gpu-hour 2.5 times.jsonl
check "--json: exit 0" status_is 0
near_field() { jq_true --arg tol 1e-9 "(.[0]$1 - $2 | fabs) < 1e-9"; }
check "training 3.61 device-hours" near_field .training.device_hours 3.61
check "evaluation 0.95 device-hours" near_field .evaluation.device_hours 0.95
check "total 4.56 device-hours" near_field .total.device_hours 4.56
check "... 11.4 at 2.5 a device-hour" near_field .total.cost 11.4
check "sample 2.5 device-hours (2 devices x 1 h, then 0.5 h)" near_field .stages.sample.device_hours 2.5
check "gradients: 2 devices x 900 s = 0.5 device-hours" near_field .stages.gradients.device_hours 0.5
check "seconds summed as they are: training 8496 s" near_field .training.seconds 8496
check "up to the best checkpoint (step 1): training 2.51 device-hours" near_field .best.training.device_hours 2.51
check "... evaluation 0.45 (steps 0 and 1)" near_field .best.evaluation.device_hours 0.45
check "... 2.96 in all" near_field .best.total.device_hours 2.96
check "... priced 7.4" near_field .best.total.cost 7.4
check "steps trained: 2" jq_true '.[0].steps == 2'

run tina-cost --best-step 1 --price-per-gpu-hour 2.5 times.jsonl
check "table: training, each training stage, evaluation, total, best" \
    sh -c 'awk "{ print \$1 }" out | head -n 10 | tr "\n" " " | grep -q "^seconds training sample reward advantage gradients update evaluation total to "'
check "table: the total line priced 11.40" grep -Eq '^total +11916\.0 +4\.5600 +11\.40$' out
check "table: the best checkpoint's line" grep -Eq '^to the best checkpoint \(step 1\) +7056\.0 +2\.9600 +7\.40$' out
run_with times.jsonl tina-cost --json
check "standard input; no --best-step: best is null" jq_true '.[0].best == null and .[0].price_per_gpu_hour == 1'

# a run's folder as grpo.mk leaves it: its step-S/times/STAGE.json, read as the lines above (it said "is a directory")
mkdir -p run/step-0000/times run/step-0001/times run/step-0002/times
i=0
while read -r line; do
    step=$(jq -r .step <<<"$line") stage=$(jq -r .stage <<<"$line")
    printf '%s\n' "$line" > "run/step-000$step/times/$stage-$((i++)).json"
done < times.jsonl
run tina-cost --json --best-step 1 --price-per-gpu-hour 2.5 run
check "a run's folder: exit 0" status_is 0
check "a run's folder: its timings summed, 4.56 device-hours, best step 1 at 2.96" \
    jq_true '(.[0].total.device_hours - 4.56 | fabs) < 1e-9 and (.[0].best.total.device_hours - 2.96 | fabs) < 1e-9'
mkdir -p not-a-run
run tina-cost not-a-run
check "a folder without timings: exit 2" status_is 2
check "... named, saying what a run's folder holds" stderr_has 'not-a-run: a folder without stage timings'

# refusals
t 3 shuffle 1 1 x > bad.jsonl
run tina-cost bad.jsonl
check "an unknown stage: exit 2" status_is 2
check "... named, with its file and line" stderr_has 'bad.jsonl:1: unknown stage "shuffle"'
jq -cn '{step: 1, stage: "sample", seconds: -1, devices: 1, device: "x"}' > bad.jsonl
run tina-cost bad.jsonl
check "negative seconds: exit 2" status_is 2
jq -cn '{step: 1, stage: "sample", seconds: 1, devices: 0, device: "x"}' > bad.jsonl
run tina-cost bad.jsonl
check "zero devices: exit 2" status_is 2
# 1e300 passed as a whole number, and as a long long it was no number at all: "steps" came out 0
jq -cn '{step: 1e300, stage: "sample", seconds: 1, devices: 1, device: "x"}' > bad.jsonl
run tina-cost --json bad.jsonl
check "step 1e300: exit 2, named" sh -c '[ "$0" = 2 ] && grep -q "bad.jsonl:1: \"step\" is not a step number" err' "$status"
# each finite, their product and sum are not: the JSON said "seconds":inf, which no JSON reader takes
jq -cn '{step: 1, stage: "sample", seconds: 1e308, devices: 1e308, device: "x"}' > bad.jsonl
run tina-cost --json bad.jsonl
check "seconds 1e308 x devices 1e308: exit 2, named, not inf" \
    sh -c '[ "$0" = 2 ] && grep -q "bad.jsonl:1: .*beyond a double" err && [ ! -s out ]' "$status"
jq -cn '{step: 1, stage: "sample", seconds: 1e308, devices: 1, device: "x"}' > bad.jsonl
run tina-cost --json bad.jsonl bad.jsonl
check "seconds 1e308, the file read twice: exit 2, the second named" \
    sh -c '[ "$0" = 2 ] && grep -q "bad.jsonl:1: .*beyond a double" err && [ ! -s out ]' "$status"
# hours finite, their cost not: the cost is named, not seconds x devices
jq -cn '{step: 1, stage: "sample", seconds: 3600, devices: 1e300, device: "x"}' > bad.jsonl
run tina-cost --price-per-gpu-hour 1e9 --json bad.jsonl
check "devices 1e300 at a price of 1e9: exit 2, the price named" \
    sh -c '[ "$0" = 2 ] && grep -q "bad.jsonl:1: .*cost at --price-per-gpu-hour 1e+09 is beyond a double" err &&
        [ ! -s out ]' "$status"
run tina-cost --best-step 3 times.jsonl
check "a best step past the timings: exit 2" sh -c '[ "$0" = 2 ] && grep -q "end at step 2" err' "$status"
grep -v '"stage":"eval","seconds":900' times.jsonl > no-eval.jsonl
run tina-cost --best-step 1 no-eval.jsonl
check "a best step never evaluated: exit 2" sh -c '[ "$0" = 2 ] && grep -q "no evaluation of that step" err' "$status"
: > empty.jsonl
run tina-cost empty.jsonl
check "no timings: exit 2" status_is 2
run tina-cost --price-per-gpu-hour -1 times.jsonl
check "a negative price: a usage error" status_is 2
finish
