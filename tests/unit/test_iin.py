from __future__ import annotations

from datetime import date

import pytest

from contracts.iin import (
    InvalidIIN,
    birth_date,
    check_iin,
    make_iin,
    mask_iin,
    next_valid_iin,
    sex,
)

# Worked by hand, born 1 January 1990, male (7th digit 3), serial 0001:
#   digits   9  0  0  1  0  1  3  0  0  0  1
#   weights  1  2  3  4  5  6  7  8  9 10 11
#   products 9  0  0  4  0  6 21  0  0  0 11  -> sum 51, 51 mod 11 = 7
KNOWN_GOOD = "900101300017"

# Serial 0080 for the same person: both passes give 10, so never issued.
#   first  pass: 9*1 + 1*4 + 1*6 + 3*7 + 8*10          = 120, 120 mod 11 = 10
#   second pass (weights 3 4 5 6 7 8 9 10 11 1 2):
#                9*3 + 1*6 + 1*8 + 3*9 + 8*1           =  76,  76 mod 11 = 10
NEVER_ISSUED_HEAD = "90010130080"

# Serial 0081: the first pass gives 10 but the second one does not.
#   first  pass: 120 + 1*11 = 131, 131 mod 11 = 10
#   second pass:  76 + 1*2  =  78,  78 mod 11 = 1   -> control digit 1
SECOND_PASS = "900101300811"


def test_hand_computed_example_is_valid() -> None:
    assert check_iin(KNOWN_GOOD) == KNOWN_GOOD
    assert birth_date(KNOWN_GOOD) == date(1990, 1, 1)
    assert sex(KNOWN_GOOD) == "male"
    assert make_iin(date(1990, 1, 1), "male", 1) == KNOWN_GOOD


def test_second_weights_are_used_when_first_pass_gives_ten() -> None:
    assert check_iin(SECOND_PASS) == SECOND_PASS
    assert make_iin(date(1990, 1, 1), "male", 81) == SECOND_PASS
    for wrong in "0234567890":
        if wrong != "1":
            with pytest.raises(InvalidIIN, match="control digit does not match"):
                check_iin(SECOND_PASS[:11] + wrong)


@pytest.mark.parametrize("last", list("0123456789"))
def test_never_issued_number_is_rejected_whatever_the_last_digit(last: str) -> None:
    with pytest.raises(InvalidIIN) as info:
        check_iin(NEVER_ISSUED_HEAD + last)
    assert str(info.value) == "control digit cannot be computed (never issued)"


def test_make_iin_refuses_never_issued_serial_and_next_valid_skips_it() -> None:
    with pytest.raises(ValueError, match="never issued"):
        make_iin(date(1990, 1, 1), "male", 80)
    assert next_valid_iin(date(1990, 1, 1), "male", 80) == SECOND_PASS
    assert next_valid_iin(date(1990, 1, 1), "male", 1) == KNOWN_GOOD


@pytest.mark.parametrize(
    ("born", "person_sex", "seventh"),
    [
        (date(1875, 12, 31), "male", "1"),
        (date(1899, 6, 15), "female", "2"),
        (date(1900, 1, 1), "male", "3"),
        (date(1984, 2, 29), "female", "4"),
        (date(2000, 2, 29), "male", "5"),
        (date(2023, 11, 5), "female", "6"),
        (date(2099, 12, 31), "female", "6"),
    ],
)
def test_generated_iins_round_trip(born: date, person_sex: str, seventh: str) -> None:
    assert person_sex in ("male", "female")
    for start in (0, 123, 4567, 9990):
        value = next_valid_iin(born, person_sex, start)  # type: ignore[arg-type]
        assert len(value) == 12
        assert value[:6] == born.strftime("%y%m%d")
        assert value[6] == seventh
        assert int(value[7:11]) >= start
        assert check_iin(value) == value
        assert birth_date(value) == born
        assert sex(value) == person_sex


def test_every_serial_is_either_valid_or_never_issued() -> None:
    born = date(1971, 7, 9)
    valid = 0
    for serial in range(10_000):
        try:
            value = make_iin(born, "female", serial)
        except ValueError:
            continue
        valid += 1
        assert check_iin(value) == value
        # Changing the control digit must always be detected.
        for digit in "0123456789":
            if digit != value[-1]:
                with pytest.raises(InvalidIIN, match="control digit does not match"):
                    check_iin(value[:11] + digit)
    # Roughly one number in 121 is never issued.
    assert 9800 < valid < 10_000


@pytest.mark.parametrize("value", ["", "90010130001", "9001013000170", " 900101300017"])
def test_wrong_length_is_rejected(value: str) -> None:
    with pytest.raises(InvalidIIN, match="must be exactly 12 digits"):
        check_iin(value)


@pytest.mark.parametrize(
    "value",
    ["90010130001a", "9001-1300017", "９００１０１３０００１７", "٩٠٠١٠١٣٠٠٠١٧", "+90101300017"],
)
def test_non_digits_are_rejected(value: str) -> None:
    with pytest.raises(InvalidIIN, match="must be exactly 12 digits"):
        check_iin(value)


def test_impossible_birth_date_is_rejected() -> None:
    # 31 February 1990, male, serial 0001; the control digit is right for
    # these digits, so only the date can be what fails.
    with pytest.raises(InvalidIIN) as info:
        check_iin(_with_control("90023130001"))
    assert str(info.value) == "birth date 1990-02-31 does not exist"


def test_29_february_depends_on_century() -> None:
    # "00" is a leap year in the 2000s (digit 5) but not in the 1900s (digit 3).
    assert birth_date(_with_control("00022950001")) == date(2000, 2, 29)
    with pytest.raises(InvalidIIN, match="birth date 1900-02-29 does not exist"):
        check_iin(_with_control("00022930001"))


def test_month_zero_is_rejected() -> None:
    with pytest.raises(InvalidIIN, match="does not exist"):
        check_iin(_with_control("90000130001"))


@pytest.mark.parametrize("digit", ["0", "7", "8", "9"])
def test_century_digit_outside_one_to_six_is_rejected(digit: str) -> None:
    with pytest.raises(InvalidIIN) as info:
        check_iin(_with_control(f"900101{digit}0001"))
    assert "century/sex digit" in str(info.value)
    assert "1 to 6" in str(info.value)


def test_wrong_control_digit_is_rejected() -> None:
    with pytest.raises(InvalidIIN, match="control digit does not match"):
        check_iin("900101300018")


def test_invalid_iin_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError) as info:
        check_iin("123")
    assert isinstance(info.value, InvalidIIN)
    assert info.value.reason == "must be exactly 12 digits"


def test_helpers_validate_too() -> None:
    with pytest.raises(InvalidIIN):
        birth_date("900101300018")
    with pytest.raises(InvalidIIN):
        sex("abc")


def test_sex_from_seventh_digit() -> None:
    female = make_iin(date(1990, 1, 1), "female", 1)
    assert female[6] == "4"
    assert sex(female) == "female"
    assert sex(KNOWN_GOOD) == "male"


def test_make_iin_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="serial"):
        make_iin(date(1990, 1, 1), "male", 10_000)
    with pytest.raises(ValueError, match="serial"):
        make_iin(date(1990, 1, 1), "male", -1)
    with pytest.raises(ValueError, match="1800-2099"):
        make_iin(date(1799, 12, 31), "male", 1)
    with pytest.raises(ValueError, match="1800-2099"):
        make_iin(date(2100, 1, 1), "female", 1)
    with pytest.raises(ValueError, match="sex"):
        make_iin(date(1990, 1, 1), "other", 1)  # type: ignore[arg-type]


def test_next_valid_iin_gives_up_past_the_last_serial() -> None:
    # Born 22 March 1990, male, serial 9999 -> head 9003223 9999:
    #   first  pass: 9 + 12 + 10 + 12 + 21 + 72 + 81 + 90 + 99 = 406, mod 11 = 10
    #   second pass: 27 + 18 + 14 + 16 + 27 + 90 + 99 + 9 + 18 = 318, mod 11 = 10
    born = date(1990, 3, 22)
    with pytest.raises(ValueError, match="never issued"):
        make_iin(born, "male", 9999)
    with pytest.raises(ValueError, match="no valid IIN"):
        next_valid_iin(born, "male", 9999)
    assert next_valid_iin(born, "male", 9998) == make_iin(born, "male", 9998)


def test_mask_iin() -> None:
    assert mask_iin(KNOWN_GOOD) == "90********17"
    assert len(mask_iin(KNOWN_GOOD)) == 12
    assert mask_iin("abcdefghijkl") == "ab********kl"
    assert mask_iin("") == "***"
    assert mask_iin("90010130001") == "***"
    assert mask_iin("9001013000170") == "***"


def _with_control(head: str) -> str:
    """Append the right control digit, so a test isolates one other fault."""
    digits = [int(c) for c in head]
    control = sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
    if control == 10:
        weights = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
        control = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    assert control != 10, "pick another head for this test"
    return head + str(control)
