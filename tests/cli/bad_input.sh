#!/bin/sh
# Bad input to `dlw run`, `dlw queue` and `dlw predict`: each case must end with exit code 2 and
# one error line naming the file or key and the problem, and leave what was on disk untouched.
# Usage: bad_input.sh DLW BACKBONE WORKDIR
set -u
dlw=$1 backbone=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0

# expect NAME PATTERN COMMAND...: exit code 2, stderr one line matching PATTERN.
expect() {
    name=$1 pattern=$2
    shift 2
    "$@" > out.txt 2> err.txt
    rc=$?
    lines=$(wc -l < err.txt)
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -Eq "$pattern" err.txt; then
        echo "PASS $name: $(cat err.txt)"
    else
        echo "FAIL $name: exit $rc, $lines stderr line(s):"
        cat err.txt
        failures=$((failures + 1))
    fi
}

small='{"threads": 1, "data": {"train_per_class": 20, "val_per_class": 5, "test_per_class": 20},
        "sequence": {"tasks": 2, "classes_per_task": 2}, "train": {"epochs": 1, "batch_size": 16},
        "method": {"rank": 4, "residual_rank": 4}, "memory": {"sample": 40}}'
echo "$small" > small.json
printf '{"seed": 1,\n "train": {"epochs": 2,}\n}\n' > malformed.json
echo '{"train": {"epochs": "four"}}' > wrong_type.json
echo '{"sequnce": {"tasks": 2}}' > unknown_key.json
echo '{"data": {"kind": "cifar100", "root": "no/such/cifar"}}' > missing_data.json
printf '{"train": {"epochs": 1},\n "train": {"batch_size": 8}\n}\n' > twice.json  # 14
setbb="backbone.path=\"$backbone\""

expect malformed_json 'malformed.json.*(line 3|syntax|parse)' "$dlw" run malformed.json --out r1
expect wrong_type "'train.epochs' must be an integer" "$dlw" run wrong_type.json --out r1
expect unknown_key "unknown key 'sequnce'.*sequence" "$dlw" run unknown_key.json --out r1
expect missing_dataset 'no/such/cifar' "$dlw" run missing_data.json --out r1
expect duplicate_key "twice.json: line 2: duplicate key 'train' \\(first at line 1\\)" \
    "$dlw" run twice.json --out r1
expect duplicate_key_in_set "duplicate key 'epochs'" \
    "$dlw" run small.json --set 'train={"epochs": 1, "epochs": 2}' --out r1
expect lr_out_of_range 'train.lr=1e400: 1e400 is outside the range of a double' \
    "$dlw" run small.json --set train.lr=1e400 --out r1
expect too_many_classes 'sequence.*12.*10|12.*classes.*10' \
    "$dlw" run small.json --set "$setbb" --set sequence.tasks=6 --out r1
expect backbone_not_a_vit "small.json.*(not|unknown|missing|header)" \
    "$dlw" run small.json --set "backbone.path=\"$(pwd)/small.json\"" --out r1
expect blocks_beyond_depth "'method.blocks'.*depth" \
    "$dlw" run small.json --set "$setbb" --set 'method.blocks=[9]' --out r1
# #16: image lists: a training list without its test partner, a domain without lists, an empty
# domain name. No image is needed: the lists are checked before any file they name.
mkdir -p lists && echo 'clipart/a/0.png 0' > lists/clipart_train.txt
setlists="data.root=\"$(pwd)/lists\""
expect file_list_without_test 'lists/clipart_test.txt: test list not found.*clipart_train.txt' \
    "$dlw" run small.json --set "$setbb" --set data.kind=file-list --set "$setlists" --out r1
expect file_list_unknown_domain 'sketch_train.txt: training list of domain "sketch" not found' \
    "$dlw" run small.json --set "$setbb" --set data.kind=file-list --set "$setlists" \
    --set 'data.domains=["sketch"]' --out r1
expect file_list_empty_domain "'data.domains' must hold non-empty domain names" \
    "$dlw" run small.json --set 'data.domains=[""]' --out r1
test ! -e r1 || { echo "FAIL: a refused run left r1 behind"; failures=$((failures + 1)); }

# A finished run, then a copy made to look stopped with a truncated latest checkpoint.
"$dlw" run small.json --set "$setbb" --out done > /dev/null 2>&1 || echo "FAIL: the small run"
expect backbone_is_a_checkpoint 'task-001.safetensors.*(unknown|missing|lacks)' \
    "$dlw" run small.json --set "backbone.path=\"$(pwd)/done/checkpoints/task-001.safetensors\"" \
    --out r2
expect resume_finished 'already complete' "$dlw" run --resume done
expect resume_foreign 'not a resumable run' "$dlw" run --resume .
# #14: a run that died before experiment.json was written: --resume says what is missing and
# --out takes the folder back.
mkdir -p unstarted/checkpoints
expect resume_unstarted 'unstarted: not a resumable run: it has no experiment.json.*--out' \
    "$dlw" run --resume unstarted
# #14: divergence is a clear error with its task and step, not an internal error (exit 3).
expect diverged 'task 1, epoch 1, step [0-9]+: diverged: .*lower train.lr \(now 1e\+30\)' \
    "$dlw" run small.json --set "$setbb" --set train.lr=1e30 --out diverged
if grep -q '"loss": *null' diverged/events.jsonl; then  # nlohmann writes NaN as null
    echo "FAIL diverged: a non-finite number reached events.jsonl"
    failures=$((failures + 1))
fi
cp -r done stopped
sed -i 's/"completed": true/"completed": false/' stopped/summary.json
size=$(stat -c %s stopped/checkpoints/task-002.safetensors)
truncate -s $((size / 2)) stopped/checkpoints/task-002.safetensors
before=$(find stopped -type f -exec md5sum {} + | sort | md5sum)
expect resume_corrupt_checkpoint 'task-002.safetensors' "$dlw" run --resume stopped
after=$(find stopped -type f -exec md5sum {} + | sort | md5sum)
if [ "$before" = "$after" ]; then
    echo "PASS resume_corrupt_checkpoint left the run directory unchanged"
else
    echo "FAIL resume_corrupt_checkpoint changed the run directory"
    failures=$((failures + 1))
fi
expect resume_with_new_knob 'resumed run keeps its experiment' \
    "$dlw" run --resume stopped --set method.rank=2
expect predict_corrupt_checkpoint 'task-002.safetensors' \
    "$dlw" predict --run stopped --after-task 2 "$work/small.json"
expect predict_no_such_task 'no checkpoint after task 5' \
    "$dlw" predict --run done --after-task 5 "$work/small.json"
# #14: the last task's tensors without their state file: an error, not the older model.
cp -r done halfdone
rm halfdone/checkpoints/task-002.json
expect predict_latest_damaged 'task-002.safetensors: the checkpoint after task 2 has no task-002.json.*--after-task 1' \
    "$dlw" predict --run halfdone "$work/small.json"
# Usage errors are one "dlw: error:" line too, with readable ranges.
expect usage_top_zero 'dlw: error: --top: Value 0 not in range 1 to 1000' \
    "$dlw" predict --run done --top 0 "$work/small.json"
expect usage_missing_runs 'dlw: error: .*runs is required' "$dlw" compare
printf '{"a\\u0000b": 1}' > nul_key.json
expect nul_in_key "nul_key.json: unknown key 'a[\\]x00b'" "$dlw" run nul_key.json --out r3
expect queue_one_bad_file 'wrong_type.json|train.epochs' "$dlw" queue small.json wrong_type.json

# #15: without --out a refused run (no such CUDA device, a data folder that is not there) gives
# back the folder reserved for it, and the runs folder it made; the queue prints no empty table.
mkdir fresh && cd fresh || exit 1
expect no_folder_device "cuda:99" "$dlw" run ../small.json --set "$setbb" --set 'device="cuda:99"'
expect no_folder_data "/nonexistent" \
    "$dlw" run ../small.json --set "$setbb" --set 'data.root="/nonexistent"'
test ! -e runs || { echo "FAIL: a refused run left $(find runs)"; failures=$((failures + 1)); }
mkdir runs
expect no_folder_existing_root "cuda:99" "$dlw" run ../small.json --set "$setbb" \
    --set 'device="cuda:99"'
if [ -d runs ] && [ -z "$(ls -A runs)" ]; then
    echo "PASS no_folder_existing_root kept the runs folder that was there, empty"
else
    echo "FAIL no_folder_existing_root: $(find runs 2>&1)"
    failures=$((failures + 1))
fi
echo '{"device": "cuda:99"}' > cuda.json
"$dlw" queue cuda.json --out-root qr > out.txt 2> err.txt
rc=$?
if [ $rc -eq 1 ] && [ ! -e qr ] && ! grep -q "A_T" out.txt && grep -q "cuda:99" err.txt; then
    echo "PASS queue_refused_run: exit 1, no folder, no empty table"
else
    echo "FAIL queue_refused_run: exit $rc, $(find qr 2>&1):"
    cat out.txt err.txt
    failures=$((failures + 1))
fi
cd ..

if [ $failures -eq 0 ]; then echo "ALL PASS"; else echo "$failures FAILED"; exit 1; fi
