"""Common given names and their usual short forms.

The generator uses it to write nicknames into records; the matcher uses it to recognise that
'Bill' and 'William' may be one person. A short form may belong to several names ('Chris':
Christopher, Christine), so ``name_groups`` maps each lower-case name to every full name it
can stand for.
"""

from __future__ import annotations

NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Richard": "Rick", "James": "Jim", "John": "Johnny",
    "Michael": "Mike", "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan",
    "Matthew": "Matt", "Anthony": "Tony", "Joseph": "Joe", "Charles": "Charlie",
    "Steven": "Steve", "Stephen": "Steve", "Andrew": "Andy", "Joshua": "Josh", "Kenneth": "Ken",
    "Timothy": "Tim", "Ronald": "Ron", "Edward": "Ed", "Jeffrey": "Jeff", "Nicholas": "Nick",
    "Jonathan": "Jon", "Benjamin": "Ben", "Samuel": "Sam", "Gregory": "Greg",
    "Alexander": "Alex", "Patrick": "Pat", "Raymond": "Ray", "Gerald": "Jerry",
    "Maximilian": "Max", "Mathéo": "Matt", "Elizabeth": "Liz", "Patricia": "Patty",
    "Jennifer": "Jen", "Susan": "Sue", "Jessica": "Jess", "Margaret": "Peggy",
    "Kimberly": "Kim", "Deborah": "Debbie", "Rebecca": "Becky", "Cynthia": "Cindy",
    "Kathleen": "Kathy", "Pamela": "Pam", "Samantha": "Sam", "Katherine": "Kate",
    "Christine": "Chris", "Victoria": "Vicky", "Amanda": "Mandy", "Dorothy": "Dot",
    "Barbara": "Barb", "Stephanie": "Steph", "Olivia": "Liv", "Charlotte": "Lottie",
    "Jacqueline": "Jackie", "Béatrice": "Béa", "Hannah": "Hanna",
}


def name_groups() -> dict[str, list[str]]:
    """Lower-case name -> sorted full names it can stand for (a full name stands for itself)."""
    groups: dict[str, set[str]] = {}
    for full, short in NICKNAMES.items():
        groups.setdefault(full.lower(), set()).add(full.lower())
        groups.setdefault(short.lower(), set()).add(full.lower())
    return {name: sorted(fulls) for name, fulls in groups.items()}
