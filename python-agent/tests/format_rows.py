"""One well-formed row per dataset format, for tests that must cover every format the agent reads.

A format added to formats.FORMATS without a row here makes those tests fail on purpose: add one.
"""

ROWS = {
    "alpaca": [{"instruction": "Name a colour.", "input": "Something warm.", "output": "Red.", "system": "Be brief."},
               {"instruction": "Say hi.", "output": "hi"}],
    "sharegpt": [{"conversations": [{"from": "human", "value": "Hello there"}, {"from": "gpt", "value": "Hi!"},
                                    {"from": "human", "value": "How is the food?"}, {"from": "gpt", "value": "Good."}]}],
    "openai": [{"messages": [{"role": "system", "content": "Answer with one word."},
                             {"role": "user", "content": "Was the service slow?"},
                             {"role": "assistant", "content": "Yes."}]}],
    "text": [{"text": "The food was good and the service slow."}, {"text": "We would come back for the bread."}],
    "preference": [{"prompt": "Was the bread good?", "chosen": "Yes, very good.", "rejected": "bread"}],
    "kto": [{"prompt": "Was the bread good?", "completion": "Yes, very good.", "label": True},
            {"prompt": "Was the food slow?", "completion": "food food", "label": False}],
}

# How each format is trained: "sft" rows go through data.load_split, the others through preference_data.
METHODS = {"preference": "dpo", "kto": "kto"}
