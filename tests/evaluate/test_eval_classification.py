

def test_mteb_settings_do_not_need_mteb_installed(monkeypatch):
    import sys
    from pathlib import Path

    from instructembed.evaluate.classification import task_settings
    from instructembed.evaluate.task import Task

    monkeypatch.setitem(sys.modules, "mteb", None)  # as on a machine without mteb
    task = Task("Tweets", "Classification", Path("."), "accuracy", mteb_name="TweetSentimentExtractionClassification")
    assert task_settings(task) == (10, 32)
    assert task_settings(Task("Other", "Classification", Path("."), "accuracy")) == (10, 8)
