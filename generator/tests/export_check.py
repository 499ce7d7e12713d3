"""Reads an `ipt-gen export` folder the way each stack's own loader does and checks every
exported example against its source row. Usage: export_check.py OUT DATASET. Prints
"ok <examples checked>" or fails with the first problem."""
import glob
import io
import json
import os
import sys

import pyarrow.parquet as pq
from datasets import Image as ImageFeature
from datasets import List, load_dataset
from PIL import Image

out, dataset = sys.argv[1], sys.argv[2]

# The source rows, by id: answer, input images, imagination (encoded bytes).
source = {}
manifest = json.load(open(os.path.join(dataset, "manifest.json")))
for shard in manifest["shards"]:
    table = pq.read_table(os.path.join(dataset, shard["path"]), columns=["id", "answer", "images", "imagination"])
    for row in table.to_pylist():
        source[row["id"]] = (row["answer"], [i["bytes"] for i in row["images"]], row["imagination"]["bytes"])


def decodes(data):
    Image.open(io.BytesIO(data)).load()
    return data


def check_images(example_id, images, with_imagination):
    answer, inputs, imagination = source[example_id]
    expected = inputs + ([imagination] if with_imagination else [])
    assert [decodes(i) for i in images] == expected, f"{example_id}: images differ from the source row"


checked = 0

# BAGEL (the IPT authors' loader): parquet files listed from data_dir, looked up in
# parquet_info by os.path.join(data_dir, name); inputs are image_list[:num_input_images].
for data_dir in sorted(glob.glob(os.path.join(out, "bagel-*", "*_*"))):
    if not os.path.isdir(data_dir):
        continue
    info = json.load(open(os.path.join(data_dir, "parquet_info.json")))
    files = [os.path.join(data_dir, name) for name in os.listdir(data_dir) if name.endswith(".parquet")]
    assert sorted(files) == sorted(info), (files, list(info))
    imagined = os.path.basename(data_dir).startswith("ipt_")
    for path in files:
        reader = pq.ParquetFile(path)
        assert info[path] == {"num_row_groups": reader.metadata.num_row_groups, "num_rows": reader.metadata.num_rows}
        for group in range(reader.metadata.num_row_groups):
            frame = reader.read_row_group(group).to_pandas()
            for _, row in frame.iterrows():
                answer = source[row["id"]][0]
                inputs = int(row["num_input_images"])
                images = list(row["image_list"])
                assert inputs == len(source[row["id"]][1])
                check_images(row["id"], images, imagined)
                outputs = list(row["output_text_list"])
                assert len(list(row["instruction_list"])) == 1
                assert outputs[-1].endswith(f"<answer>{answer}</answer>"), outputs
                if imagined:
                    assert len(outputs) == 2 and outputs[0].endswith("<image_start>") and outputs[1].startswith("<image_end>")
                checked += 1

# TRL: load_dataset decodes images to PIL; one {"type": "image"} part per image.
for folder in sorted(glob.glob(os.path.join(out, "trl-*"))):
    with_imagination = folder.endswith("-imagination-input")
    data = load_dataset(folder)
    raw = data.cast_column("images", List(ImageFeature(decode=False)))
    for split in data:
        for row, undecoded in zip(data[split], raw[split]):
            assert all(isinstance(image, Image.Image) for image in row["images"])
            user, assistant = row["messages"]
            assert (user["role"], assistant["role"]) == ("user", "assistant")
            parts = [part["type"] for part in user["content"]]
            assert parts.count("image") == len(row["images"]) and parts[-1] == "text", parts
            check_images(row["id"], [i["bytes"] for i in undecoded["images"]], with_imagination)
            assert assistant["content"][0]["text"].endswith(f"<answer>{source[row['id']][0]}</answer>")
            checked += 1

# LLaVA(-NeXT): a JSON list; image paths relative to the image folder (the output folder);
# as many <image> tags as images in the human turn.
for path in sorted(glob.glob(os.path.join(out, "llava-*", "*.json"))):
    if os.path.basename(path) == "export.json":
        continue
    with_imagination = "-imagination-input" in path
    for item in json.load(open(path)):
        images = item["image"] if isinstance(item["image"], list) else [item["image"]]
        human, gpt = item["conversations"]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        assert human["value"].count("<image>") == len(images)
        check_images(item["id"], [open(os.path.join(out, i), "rb").read() for i in images], with_imagination)
        assert gpt["value"].endswith(f"<answer>{source[item['id']][0]}</answer>")
        checked += 1

# LLaMA-Factory: dataset_info.json in dataset_dir; media paths joined to media_dir (=
# dataset_dir); every message's <image> tags counted against the images (mm_plugin).
entries = json.load(open(os.path.join(out, "dataset_info.json"))) if os.path.exists(os.path.join(out, "dataset_info.json")) else {}
for name, entry in entries.items():
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "messages", "images": "images"}
    with_imagination = "_imagination_" in name
    for item in json.load(open(os.path.join(out, entry["file_name"]))):
        tags = sum(message["content"].count("<image>") for message in item["messages"])
        assert tags == len(item["images"]), "The number of images does not match the number of <image> tokens"
        roles = [message[entry["tags"]["role_tag"]] for message in item["messages"]]
        assert roles == [entry["tags"]["user_tag"], entry["tags"]["assistant_tag"]], roles
        media = [os.path.join(out, image) for image in item["images"]]
        check_images(item["id"], [open(m, "rb").read() for m in media], with_imagination)
        assert item["messages"][1]["content"].endswith(f"<answer>{source[item['id']][0]}</answer>")
        checked += 1

print("ok", checked)
