from caltac_inbox.classify.systems import clean_name, find_systems, systems_of_item
import pytest


@pytest.mark.parametrize("name, codes", [
    ("Appeals/Completion Status/Roster Management System", ["ARMS", "CSS"]),
    ("Completion Status and Roster Management", ["CSS", "ARMS"]),
    ("Test Delivery System/Test Administrator Interface", ["TDS", "TAI"]),
    ("Test Delivery System, including Test Administrator Interface", ["TDS", "TAI"]),
    ("Online Reporting System (ORS), including Completion Status", ["ORS", "CSS"]),
    ("Initial ELPAC Teacher Hand-Scoring System", ["THSS"]),
    ("IA Hand Scoring System", ["IAHSS"]),
    ("Interim Assessment (IA) Viewing System", ["IAVS"]),
    ("Test Operations Management System (TOMS)", ["TOMS"]),
    ("the secure browsers", ["SB"]),
    ("all CAASPP systems", ["ALL"]),
])
def test_find_systems(name, codes):
    assert find_systems(name) == codes


def test_unknown_systems_keep_their_name():
    assert find_systems("Practice and Training Tests") == ["Practice and Training Tests"]
    assert clean_name("Practice and Training Tests") == "Practice and Training Tests"
    assert systems_of_item("- Parent Portal (beta)") == ["Parent Portal"]
    assert find_systems("TOMS") == ["TOMS"]
