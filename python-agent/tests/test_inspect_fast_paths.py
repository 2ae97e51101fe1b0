"""inspect_dataset's quicker ways give the answers of its plain ones: plain chats read in bulk (formats.plain_chats)
against the general reader, batched encoding (data.EncodeBatch) against one sample at a time, the tokenizer's
backend asked for ids alone against its own call, and worker threads against none."""

import copy
import json
import os
import random
import threading
import time

import pytest

from tunelab_agent.data import formats, inspection
from tunelab_agent.data.dataset import EncodeBatch, encode_sample
from tunelab_agent.data.formats import openai, plain_chats, read_rows
from tunelab_agent.data.inspection import Cancelled, inspect_dataset
from tunelab_agent.data.samples import Sample
from tunelab_agent.data.templating import TemplateError, encode_conversation, encode_text, tokenise_pieces

WORDS = "the food was good and the service slow é ü 😀 \\ \" \n".split(" ")


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def chat(rng, exchanges=1, system=False, answer=None) -> list[dict]:
    say = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))  # noqa: E731
    messages = [{"role": "system", "content": "Be brief."}] if system else []
    for _ in range(exchanges):
        messages += [{"role": "user", "content": say(rng.randint(1, 20))},
                     {"role": "assistant", "content": answer or say(rng.randint(1, 120))}]
    return messages


def odd_rows(rng) -> list:
    """Rows that are not plain chats, each for a different reason (a string is written as it is)."""
    ok = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    return [
        "not json {", "", "   ", json.dumps({"messages": ok}) + " trailing",
        '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\\ud800"}]}',
        json.dumps(["a", "list"]), json.dumps({"messages": "nope"}),
        json.dumps({"messages": []}), json.dumps({"messages": [{"role": "system", "content": "s"}]}),
        json.dumps({"messages": ok[::-1]}), json.dumps({"messages": [ok[0], ok[0]]}),
        json.dumps({"messages": [ok[0], {"role": "assistant", "content": "  \n"}]}),
        json.dumps({"messages": [ok[0], {"role": "assistant", "content": None}]}),
        json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, ok[1]]}),
        json.dumps({"messages": [{"role": "user", "content": 5}, ok[1]]}),
        json.dumps({"messages": [{**ok[0], "name": "bob"}, ok[1]]}),
        json.dumps({"messages": [{"role": ["user"], "content": "a"}, ok[1]]}),
        json.dumps({"messages": [{"role": "narrator", "content": "a"}, ok[1]]}),
        json.dumps({"messages": [ok[0], {"content": "b"}]}),
        json.dumps({"messages": ok, "x": float("nan")}),
        json.dumps({"messages": ok, "label": rng.choice(["pos", 3, True])}),
        json.dumps({"messages": ok, "tools": [{"type": "function", "function": {"name": "f"}}]}),
        json.dumps({"messages": [ok[0], {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": {}}}]},
            {"role": "tool", "content": "r"}, ok[1]]}),
        json.dumps({"messages": ok, "images": []}),
    ]


def harmless_rows() -> list[str]:
    """Plain chats all the same: keys openai() ignores, or the ones it reads set to null."""
    ok = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    return [json.dumps({"id": 7, "n": 18446744073709551616, "messages": ok, "meta": {"x": [1, 2.5, None]}}),
            json.dumps({"messages": ok, "tools": None, "label": None, "images": None})]


def mixed_file(path, rows: int = 1500, seed: int = 0) -> str:
    """Mostly plain chats: repeats (some with keys reordered or spaced differently), short answers that
    conflict, rows over max_length, harmless extra or null keys; every so often a row of odd_rows."""
    rng = random.Random(seed)
    seen = [chat(rng, rng.randint(1, 3), rng.random() < 0.3) for _ in range(30)]
    lines = []
    for _ in range(rows):
        pick = rng.random()
        if pick < 0.55:
            lines.append(json.dumps({"messages": chat(rng, rng.randint(1, 3), rng.random() < 0.3)}, ensure_ascii=False))
        elif pick < 0.7:
            again = rng.choice(seen)
            reordered = [{"content": m["content"], "role": m["role"]} for m in again]
            lines.append(json.dumps({"messages": reordered}, separators=(", ", " : ")) if rng.random() < 0.5
                         else json.dumps({"messages": again}))
        elif pick < 0.8:
            question = rng.choice(["Classify: good food", "Classify: slow", "Classify: bread"])
            lines.append(json.dumps({"messages": [{"role": "user", "content": question}, {
                "role": "assistant", "content": rng.choice(["positive", " negative ", "positive"])}]}))
        elif pick < 0.85:
            lines.append(json.dumps({"messages": chat(rng, 2, True, answer="x " * 400)}))
        elif pick < 0.9:
            lines.append(rng.choice(harmless_rows()))
        else:
            lines.append(rng.choice(odd_rows(rng)))
    path.write_text("\n".join([json.dumps({"messages": chat(rng)})] + lines) + "\n")
    return str(path)


def inspected(path, monkeypatch, general: bool = False, **options) -> tuple[dict, list[dict]]:
    """(result without its timing, the diagnostics as streamed), read the general way when asked."""
    with monkeypatch.context() as patch:
        patch.setattr(formats, "CHUNK_BYTES", 2048)  # many chunks: some all plain, some not
        if general:
            patch.setattr(formats, "msgspec", None)
        streamed = []
        result = inspect_dataset(path, on_diagnostic=streamed.append, **options)
    result.pop("seconds")
    return result, streamed


@pytest.mark.parametrize("options", [{"max_length": 300}, {"max_length": 200, "truncation": "left"},
                                     {"format": "openai", "limit_rows": 700}, {}])
def test_plain_chats_in_bulk_give_what_the_general_reader_gives(tmp_path, monkeypatch, options):
    path = mixed_file(tmp_path / "mixed.jsonl")
    quick, quick_streamed = inspected(path, monkeypatch, **options)
    general, general_streamed = inspected(path, monkeypatch, general=True, **options)
    assert quick == general and quick_streamed == general_streamed
    single, _ = inspected(path, monkeypatch, threads=False, **options)
    assert single == quick
    counts = quick["diagnostic_counts"]
    assert counts["duplicate"] > 10 and counts["conflicting_label"] > 0 and counts["bad_row"] > 0
    if options.get("max_length"):
        assert quick["over_length"] + quick["truncated"] > 0


def test_a_plain_chat_is_exactly_what_openai_keeps(tmp_path):
    rng = random.Random(1)
    records = [chat(rng, rng.randint(1, 3), rng.random() < 0.5) for _ in range(50)]
    lines = [json.dumps({"messages": m}) for m in records] + harmless_rows() + odd_rows(rng)
    plain = 0
    for line in lines:
        chats = plain_chats(1, [line])
        if chats is None:
            continue
        plain += 1
        sample = openai(json.loads(line), 1)
        assert [{"role": t.role, "content": t.content} for t in chats.chats[0]] == sample.messages
        assert chats.roles[0] == tuple(m["role"] for m in sample.messages)
        assert sample.label is None and sample.tools is None
    assert plain == len(records) + len(harmless_rows())


def test_batched_encoding_gives_each_samples_own_encoding(tokenizer):
    rng = random.Random(2)
    strict = copy.deepcopy(tokenizer)
    strict.chat_template = ("{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}"
                            "{% endif %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}")
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    samples = [Sample(i, messages=chat(rng, rng.randint(1, 3), rng.random() < 0.5)) for i in range(30)]
    samples += [Sample(40, text="some plain text"), Sample(41, text="more"),
                Sample(42, prompt=[{"role": "user", "content": "q"}], chosen="good", rejected="bad"),
                Sample(43, prompt=[{"role": "user", "content": "q"}], completion="fine", desirable=False),
                Sample(44, messages=chat(rng), tools=tools)]
    for tok in (tokenizer, strict):
        for train_on in ("assistant", "all"):
            batch = EncodeBatch(tok, train_on)
            for sample in samples:
                batch.add(sample)
            batch.tokenise()
            for sample, batched in zip(samples, batch.results()):
                try:
                    expected = one_by_one(tok, sample, train_on)
                except TemplateError as exc:
                    assert isinstance(batched, TemplateError) and str(batched) == str(exc)
                    continue
                assert batched == expected == encode_sample(tok, sample, train_on)


def one_by_one(tokenizer, sample, train_on):
    """encode_sample as it was written before batches: a tokenizer call per conversation."""
    if sample.text is not None:
        return [encode_text(tokenizer, sample.text)]
    if sample.messages is not None:
        return [encode_conversation(tokenizer, sample.messages, train_on, tools=sample.tools)]
    answers = (sample.chosen, sample.rejected) if sample.completion is None else (sample.completion,)
    return [encode_conversation(tokenizer, sample.prompt + [{"role": "assistant", "content": a}], "assistant",
                                tools=sample.tools) for a in answers]


@pytest.mark.parametrize("kind", ["bpe", "unigram", "wordpiece"])
@pytest.mark.parametrize("state", ["as built", "truncating", "splitting special tokens"])
def test_ids_from_the_backend_alone_are_the_tokenizers_own(kind, state):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(3)
    texts = ["".join(rng.choice(WORDS + ["<|end|>", "<|user|>", "  ", "\t"]) + rng.choice([" ", ""])
                     for _ in range(rng.randint(1, 30))) for _ in range(200)] + ["<|user|>", " x", "x ", "\n"]
    special = ["<|end|>", "<|user|>"]
    if kind == "bpe":
        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=special, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif kind == "unigram":
        backend = Tokenizer(models.Unigram())
        backend.normalizer = normalizers.NFKC()
        backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
        trainer = trainers.UnigramTrainer(vocab_size=200, special_tokens=special, show_progress=False)
    else:
        backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        backend.normalizer = normalizers.BertNormalizer(lowercase=True)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[UNK]", "[CLS]", "[SEP]"] + special,
                                            show_progress=False)
    backend.train_from_iterator(texts * 2, trainer)
    if kind == "wordpiece":
        backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                               special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    if state == "truncating":
        backend.enable_truncation(8)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, split_special_tokens=state.startswith("splitting"))
    first = tokenise_pieces(tokenizer, texts)
    assert first == tokenizer(texts, add_special_tokens=False)["input_ids"] == tokenise_pieces(tokenizer, texts)


def test_the_tokenizer_path_gives_the_same_answer_with_or_without_threads(tmp_path, tokenizer, monkeypatch):
    path = mixed_file(tmp_path / "mixed.jsonl", rows=400, seed=4)  # any odd row, a lone surrogate's too
    threaded, streamed = inspected(path, monkeypatch, tokenizer=tokenizer, max_length=120)
    single, single_streamed = inspected(path, monkeypatch, tokenizer=tokenizer, max_length=120, threads=False)
    assert threaded == single and streamed == single_streamed == threaded["diagnostics"]
    assert threaded["rows"] == read_rows(path).total and threaded["tokens"]["method"] == "tokenizer"


def test_a_lone_surrogate_is_a_bad_row_naming_its_key_not_a_crash(tmp_path, tokenizer):
    """JSON can spell half a surrogate pair (\\ud800) alone: json.loads keeps it, and a fast tokenizer refuses
    the text with a TypeError that used to end the whole inspection or training. A pair is one character."""
    ok = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "fine"}]
    rows = [json.dumps({"messages": ok}),
            '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a\\ud800b"}]}',
            '{"messages": [{"role": "user", "content": "\\ud83d\\ude00"}, {"role": "assistant", "content": "ok"}]}',
            '{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "id": "\\uDC00"}',
            '{"messages": [{"role": "user", "content": "\\\\ud800?"}, {"role": "assistant", "content": "a '
            'backslash, then ud800"}]}']  # an escaped backslash: JSON's way to say \\ud800 as six characters
    jsonl = tmp_path / "chats.jsonl"
    jsonl.write_text("\n".join(rows) + "\n")
    array = tmp_path / "chats.json"
    array.write_text("[" + ",\n".join(rows) + "]\n")  # row i on line i
    expected = [(2, "messages[1].content has a lone surrogate (\\ud800) at character 1: not valid Unicode text, so no "
                    "tokenizer can read it; write the character itself, or both halves of its surrogate pair"),
                (4, "id has a lone surrogate (\\udc00) at character 0: not valid Unicode text, so no tokenizer can "
                    "read it; write the character itself, or both halves of its surrogate pair")]
    for path, format in ((jsonl, "openai"), (array, "openai"), (jsonl, "auto")):
        read = read_rows(str(path), format)
        assert [(b.line, b.reason) for b in read.bad] == expected
        assert read.bad[0].describe().startswith(f"{path.name} line 2: messages[1].content has a lone surrogate")
        assert read.samples[1].messages[0]["content"] == "\U0001F600"
        assert read.samples[2].messages[0]["content"] == "\\ud800?"
        for options in ({}, {"tokenizer": tokenizer, "max_length": 64}):
            result = inspect_dataset(str(path), format, **options)
            assert [(d["line"], d["message"]) for d in result["diagnostics"] if d["code"] == "bad_row"] == expected
    from tunelab_agent.data.dataset import tokenise_file

    split = tokenise_file(str(jsonl), "openai", tokenizer, 64, "assistant")
    assert [(b.line, b.reason) for b in split.bad] == expected and len(split.items) == 3


@pytest.mark.parametrize("threads", [True, False])
def test_an_unchanged_file_is_hashed_once_and_a_changed_one_again(tmp_path, monkeypatch, threads):
    """The file's sha256 (the inspection cache's key) is remembered by path and stat once the file has
    settled: a file just written is hashed each time, and any change to a remembered one (even one that keeps
    its size and sets its mtime back) is hashed again."""
    hashed, clock = [], []
    file_identity = inspection.file_identity
    monkeypatch.setattr(inspection, "file_identity",
                        lambda path, stop=None: hashed.append(path) or file_identity(path, stop))
    monkeypatch.setattr(inspection, "_remembered", {})
    monkeypatch.setattr(inspection, "_now_ns", lambda: clock[-1])
    rng = random.Random(6)
    chats = [chat(rng) for _ in range(50)]
    rows = [json.dumps({"messages": messages}) for messages in chats]
    over_5 = sum(-(-sum(len(m["content"]) for m in messages) // 4) > 5 for messages in chats)
    path, cache = tmp_path / "chats.jsonl", str(tmp_path / "cache")
    path.write_text("\n".join(rows) + "\n")
    long_ago = time.time() - 3600
    os.utime(path, (long_ago, long_ago))  # the mtime says old; the ctime says now
    changed_ns = os.stat(path).st_ctime_ns

    def inspect(**options):
        return inspect_dataset(str(path), cache_root=cache, threads=threads, **options)

    clock.append(changed_ns + 10**9)  # a second after the last change: not settled yet
    first, again = inspect(), inspect()
    assert len(hashed) == 2 and not first["cached"] and again["cached"]
    clock.append(changed_ns + int(inspection.SETTLED_S * 1e9) + 10**9)
    assert inspect()["cached"] and len(hashed) == 3  # settled: this hash is remembered
    assert inspect()["cached"] and inspect(max_length=5)["over_length"] == over_5 and len(hashed) == 3

    time.sleep(0.05)  # past the grain of the file system's clock
    short, long = sorted((0, 1), key=lambda i: len(rows[i].encode()))
    edited = list(rows)
    edited[long] = rows[short] + " " * (len(rows[long].encode()) - len(rows[short].encode()))  # a duplicate now
    path.write_text("\n".join(edited) + "\n")
    assert os.path.getsize(path) == first["bytes"]  # the same size, the same mtime, another content
    os.utime(path, (long_ago, long_ago))
    clock.append(os.stat(path).st_ctime_ns + 10**9)
    changed = inspect()
    assert len(hashed) == 4 and not changed["cached"] and changed["duplicates"]["rows"] == 1
    assert first["duplicates"]["rows"] == 0 and not inspect(max_length=5)["cached"] and len(hashed) == 5

    replaced = tmp_path / "other.jsonl"
    replaced.write_text("\n".join(rows) + "\n")
    os.replace(replaced, path)  # another file under the same name
    assert inspect()["duplicates"]["rows"] == 0 and len(hashed) == 6


def test_no_worker_thread_without_a_second_core(tmp_path, tokenizer, monkeypatch):
    path = mixed_file(tmp_path / "mixed.jsonl", rows=200, seed=7)
    threaded, _ = inspected(path, monkeypatch, tokenizer=tokenizer, max_length=120)
    plain, _ = inspected(path, monkeypatch, threads=False)
    monkeypatch.setattr(inspection, "_remembered", {})
    with monkeypatch.context() as patch:
        patch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
        patch.setattr(inspection, "ThreadPoolExecutor", None)  # any worker thread would fail the inspection
        assert inspected(path, monkeypatch, tokenizer=tokenizer, max_length=120)[0] == threaded
        assert inspected(path, monkeypatch)[0] == plain
    with monkeypatch.context() as patch:  # two cores, both busy: the hash stays on the caller's thread
        patch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
        patch.setattr(os, "getloadavg", lambda: (1.6, 1.0, 1.0))
        patch.setattr(inspection, "ThreadPoolExecutor", None)
        assert inspected(path, monkeypatch)[0] == plain


def test_cancelling_stops_the_worker_threads(tmp_path, tokenizer):
    rng = random.Random(5)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"messages": chat(rng)}) + "\n" for _ in range(4000)))
    before = threading.active_count()
    cancel = threading.Event()

    def progress(done, total):
        cancel.set()

    with pytest.raises(Cancelled):
        inspect_dataset(str(path), tokenizer=tokenizer, on_progress=progress, cancel=cancel)
    assert threading.active_count() == before
