import pytest

from tunelab_agent.training.run_config import ConfigError, load_run_config

VALID = "model: m\ndataset:\n  train: t.jsonl\n"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_run_config(text, "demo.tunelab.yaml")
    return str(info.value)


def test_wrong_type_names_file_line_and_key_path():
    message = error_of(VALID + "training:\n  learning_rate: fast\n")
    assert message == 'demo.tunelab.yaml line 5: training.learning_rate: expected number, got string "fast"'


def test_unknown_key_names_its_path_and_line():
    message = error_of(VALID + "lora:\n  r: 8\n  rank: 8\n")
    assert message.startswith("demo.tunelab.yaml line 6: lora.rank: unknown key")
    assert "target_modules" in message  # says what is allowed instead


def test_missing_required_key_and_bad_enum():
    assert "dataset: required key is missing" in error_of("model: m\n")
    assert "training.scheduler: expected one of cosine" in error_of(VALID + "training:\n  scheduler: wavy\n")


def test_every_problem_is_reported():
    message = error_of(VALID + "training:\n  batch_size: 0\n  epochs: many\n")
    assert "training.batch_size: must be at least 1, got integer 0" in message
    assert "training.epochs: expected number" in message


def test_yaml_syntax_error_names_line():
    assert error_of("model: m\ndataset: [unclosed\n").startswith("demo.tunelab.yaml line 3: not valid YAML")


def test_defaults_are_filled_from_the_schema():
    config = load_run_config(VALID)
    assert config["training"]["learning_rate"] == 0.0002
    assert config["training"]["scheduler"] == "cosine"
    assert config["lora"]["target_modules"] == ["q_proj", "v_proj"]
    assert config["dataset"]["eval_ratio"] == 0.1
    assert "max_steps" not in config["training"]  # no default: epochs decide


def test_exponent_numbers_read_as_numbers_like_in_the_editor():
    # YAML 1.1 (PyYAML's default) would read 1e-5 as a string and reject the config.
    from tunelab_agent.training.run_config import load_run_config

    config = load_run_config("model: m\ndataset: {train: a.jsonl}\ntraining: {learning_rate: 1e-5}\n"
                             "layer_lr: [{pattern: 'layers\\.0\\.', learning_rate: 5E-6}]\n", "x.yaml")
    assert config["training"]["learning_rate"] == 1e-5 and config["layer_lr"][0]["learning_rate"] == 5e-6
