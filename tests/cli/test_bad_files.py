"""Every command names a file it cannot use by the flag that gave it, with exit code 2, before any model loads."""

import pytest

from playground.cli import main

COMMANDS = {
    "generate": ["generate", "--prompt-file"],
    "mass": ["mass", "--prompt-file"],
    "compare": ["compare", "--prompts"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_that_cannot_be_read_or_is_not_utf8_exits_2_naming_its_flag(tmp_path, capsys, command):
    name, flag = COMMANDS[command]
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    missing = tmp_path / "nope.txt"
    # No model directory: a model load would end with exit code 1, so 2 says the file was named first.
    model = ["--model", str(tmp_path / "no-model")]
    for path, message in ((missing, f"cannot read {missing}: "), (latin1, f"{latin1} is not UTF-8 text (byte 3)")):
        with pytest.raises(SystemExit) as exit_info:
            main([name, *model, flag, str(path)])
        assert exit_info.value.code == 2
        assert f"argument {flag}: {message}" in capsys.readouterr().err


def test_compare_names_a_bad_max_new_tokens_by_its_flag(tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the cat sat\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--model", str(tmp_path / "no-model"), "--prompts", str(prompts), "--max-new-tokens", "0"])
    assert exit_info.value.code == 2
    assert "argument --max-new-tokens: max_new_tokens must be >= 1, got 0" in capsys.readouterr().err
