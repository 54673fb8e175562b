#!/bin/sh
# #16: `dlw run` on image lists as DomainNet ships them (data.kind "file-list"): two domains,
# CR LF line ends, a malformed line and a missing file (each named on stderr with its list and
# line), a class with test images only (a warning naming it); the run finishes with exit 0, and
# `dlw predict` lines its table up around a class name longer than its old fixed column.
# Usage: file_list_run.sh DLW EXPERIMENT.json BACKBONE IMAGES WORKDIR
set -eu
dlw=$1 experiment=$2 backbone=$3 images=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work"
for domain in clipart real; do
    for cls in apple bee a-class-name-longer-than-24-characters dog; do
        mkdir -p "lists/$domain/$cls"
        for i in 0 1 2; do
            cp "$images/shirt_like.png" "lists/$domain/$cls/$i.png"
        done
        cp "$images/colour.jpg" "lists/$domain/$cls/9.jpg"
    done
    : > "lists/${domain}_train.txt"
    : > "lists/${domain}_test.txt"
    label=0
    for cls in apple bee a-class-name-longer-than-24-characters dog; do
        if [ $cls != dog ]; then  # dog has test images only
            printf '%s/%s/0.png %d\r\n%s/%s/1.png %d\r\n' $domain $cls $label $domain $cls $label \
                >> "lists/${domain}_train.txt"
        fi
        printf '%s/%s/2.png %d\n%s/%s/9.jpg %d\n' $domain $cls $label $domain $cls $label \
            >> "lists/${domain}_test.txt"
        label=$((label + 1))
    done
done
printf 'clipart/apple/gone.png 0\nclipart/bee/1.png bee\n' >> lists/clipart_train.txt
"$dlw" run "$experiment" --set "backbone.path=\"$backbone\"" --set data.kind=file-list \
    --set "data.root=\"$(pwd)/lists\"" --set 'data.domains=["clipart", "real"]' \
    --set data.train_per_class=0 --set data.val_per_class=0 --set data.test_per_class=0 \
    --out run > out.txt 2> err.txt
cat out.txt err.txt
test -f run/summary.json
grep -q "skipped: $(pwd)/lists/clipart_train.txt: line 7: clipart/apple/gone.png: " err.txt
grep -q "skipped: $(pwd)/lists/clipart_train.txt: line 8: label \"bee\" is not an integer" err.txt
grep -q "warning: task 2: class 3 (dog) has no training image" err.txt
tr -d ' \n' < run/experiment.json | grep -q '"domains":\["clipart","real"\]'
"$dlw" predict --run run --top 4 "$images/shirt_like.png" > predict.txt
cat predict.txt
sed -n '/^  class /,$p' predict.txt > table.txt
grep -q 'a-class-name-longer-than-24-characters' table.txt
[ "$(awk '{ print length($0) }' table.txt | sort -u | wc -l)" -eq 1 ]
echo "PASS: file-list run"
