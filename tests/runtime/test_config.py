"""Reading wrangler.toml / wrangler.jsonc, and the errors a malformed config gets."""
from __future__ import annotations

import re
import warnings

import pytest

from course.runtime import ConfigError, load, load_config
from course.runtime.kernel.config import ConfigWarning

ENTRY = """
    from workers import WorkerEntrypoint, Response
    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response("ok")
"""


def config_error(make_project, files) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(make_project({"src/entry.py": ENTRY, **files}))
    return info.value


def test_toml_config_is_read(make_project):
    config = load_config(make_project({
        "wrangler.toml": """
            name = "toml-worker"
            main = "src/entry.py"
            compatibility_flags = ["python_workers"]
            [vars]
            A = "1"
        """,
        "src/entry.py": ENTRY,
    }))
    assert (config.name, config.main, config.vars) == ("toml-worker", "src/entry.py", {"A": "1"})
    assert config.compatibility_flags == ["python_workers"]


def test_jsonc_config_allows_comments_and_trailing_commas(make_project):
    config = load_config(make_project({
        "wrangler.jsonc": """
            // line comment
            {
              /* block comment */
              "name": "jsonc-worker",
              "main": "src/entry.py",
              "vars": { "A": "1", "OBJ": { "k": [1, 2,], }, },
            }
        """,
        "src/entry.py": ENTRY,
    }))
    assert config.name == "jsonc-worker"
    assert config.vars == {"A": "1", "OBJ": {"k": [1, 2]}}


def test_jsonc_is_preferred_over_toml_with_one_warning_naming_both(make_project):
    root = make_project({
        "wrangler.jsonc": '{"name": "from-jsonc", "main": "src/entry.py"}',
        "wrangler.toml": 'name = "from-toml"\nmain = "src/entry.py"\n',
        "src/entry.py": ENTRY,
    })
    with pytest.warns(ConfigWarning) as caught:
        config = load_config(root)
    assert config.name == "from-jsonc"
    [warning] = caught
    assert "using wrangler.jsonc and ignoring wrangler.toml" in str(warning.message)


def test_json_is_preferred_over_jsonc_and_toml_as_wrangler_does(make_project):
    """wrangler's findWranglerConfig: wrangler.json, then wrangler.jsonc, then wrangler.toml."""
    root = make_project({
        "wrangler.json": '{"name": "from-json", "main": "src/entry.py"}',
        "wrangler.jsonc": '{"name": "from-jsonc", "main": "src/entry.py"}',
        "wrangler.toml": 'name = "from-toml"\nmain = "src/entry.py"\n',
        "src/entry.py": ENTRY,
    })
    with pytest.warns(ConfigWarning, match="using wrangler.json and ignoring wrangler.jsonc, wrangler.toml"):
        assert load_config(root).name == "from-json"


def test_a_single_config_file_loads_without_a_warning(make_project):
    root = make_project({"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n', "src/entry.py": ENTRY})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_config(root).name == "w"


def test_non_utf8_config_is_a_config_error_naming_the_file(make_project):
    root = make_project({"src/entry.py": ENTRY})
    (root / "wrangler.toml").write_bytes(b'name = "w"\nmain = "src/\xff\xfe.py"\n')
    with pytest.raises(ConfigError) as info:
        load(root)
    message = str(info.value)
    assert str(root / "wrangler.toml") in message and ":2:" in message
    assert "not UTF-8" in message and "0xff" in message


def test_binary_config_is_a_config_error_not_a_decode_error(make_project):
    root = make_project({"src/entry.py": ENTRY})
    (root / "wrangler.toml").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match=r"wrangler\.toml:\d+:\d+: not UTF-8 text"):
        load(root)


def test_non_utf8_dev_vars_names_the_file(make_project):
    root = make_project({"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n', "src/entry.py": ENTRY})
    (root / ".dev.vars").write_bytes(b"KEY=\xe9t\xe9\n")
    with pytest.raises(ConfigError, match=r"\.dev\.vars:1:5: not UTF-8"):
        load(root)


def test_unknown_keys_are_kept_so_real_projects_load(make_project):
    config = load_config(make_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\nworkers_dev = true\n[observability]\nenabled = true\n',
        "src/entry.py": ENTRY,
    }))
    assert config.model_extra["observability"] == {"enabled": True}


def test_invalid_toml_names_file_line_column_and_key(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n[vars\nX = "1"\n'})
    text = str(err)
    assert re.search(r"wrangler\.toml:3:\d+: ", text), text
    assert "key 'vars'" in text and "invalid TOML" in text
    assert (err.line, err.key, err.path.name) == (3, "vars", "wrangler.toml")


def test_invalid_jsonc_names_file_line_column_and_key(make_project):
    err = config_error(make_project, {"wrangler.jsonc": """
        {
          // comment
          "name": "w",
          "main": "src/entry.py",
          "vars": {"X": "1",,},
        }
    """})
    text = str(err)
    assert re.search(r"wrangler\.jsonc:5:\d+: ", text), text
    assert "key 'vars'" in text and "invalid JSONC" in text


def test_vars_of_the_wrong_type_is_reported_at_its_line(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\nvars = 3\n'})
    assert str(err).startswith(f"{err.path}:3:1: key 'vars': ")
    assert "dictionary" in str(err)


def test_durable_object_binding_without_class_name_names_the_key(make_project):
    err = config_error(make_project, {"wrangler.toml": """
        name = "w"
        main = "src/entry.py"

        [[durable_objects.bindings]]
        name = "AGENT"
    """})
    assert "wrangler.toml:4:" in str(err)
    assert "key 'durable_objects.bindings[0].class_name'" in str(err)
    assert "Field required" in str(err)


def test_durable_object_binding_without_class_name_in_jsonc(make_project):
    err = config_error(make_project, {"wrangler.jsonc": """
        {
          "name": "w",
          "main": "src/entry.py",
          "durable_objects": {
            "bindings": [{ "name": "AGENT" }],
          },
        }
    """})
    assert "wrangler.jsonc:5:" in str(err)
    assert err.key == "durable_objects.bindings[0].class_name"


def test_missing_main_is_reported(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\ncompatibility_date = "2025-11-01"\n'})
    assert "wrangler.toml:1" in str(err)
    assert "key 'main'" in str(err) and "missing the entry point" in str(err)


def test_main_that_does_not_exist_is_reported_at_its_line(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\n\nmain = "src/missing.py"\n'})
    assert "wrangler.toml:3:1: key 'main'" in str(err)
    assert "'src/missing.py' does not exist" in str(err)


def test_non_python_main_is_refused(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\nmain = "src/index.js"\n',
                                      "src/index.js": "export default {}"})
    assert "not a Python module" in str(err) and err.key == "main"


def test_invalid_var_name_is_refused(make_project):
    err = config_error(make_project, {"wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n[vars]\n"bad-name" = "x"\n'})
    assert err.key == "vars" and "bad-name" in str(err)


def test_folder_without_a_config_says_what_it_looked_for(tmp_path):
    with pytest.raises(ConfigError, match="no wrangler config found.*wrangler.toml"):
        load(tmp_path)


def test_missing_project_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such Worker project"):
        load(tmp_path / "nope")


def test_malformed_dev_vars_names_the_line(make_project):
    root = make_project({
        "wrangler.toml": 'name = "w"\nmain = "src/entry.py"\n',
        "src/entry.py": ENTRY,
        ".dev.vars": "# secrets\nGOOD=1\nthis line has no equals\n",
    })
    with pytest.raises(ConfigError, match=r"\.dev\.vars:3:1: expected KEY=VALUE"):
        load(root)
