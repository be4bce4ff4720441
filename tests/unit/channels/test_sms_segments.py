from webapp.channels.sms_segments import GSM7, UCS2, sms_size


def test_plain_text_up_to_160_characters_is_one_gsm7_segment():
    size = sms_size("a" * 160)
    assert (size.encoding, size.characters, size.units, size.segments) == (GSM7, 160, 160, 1)


def test_161_gsm7_characters_take_two_segments_of_153():
    assert sms_size("a" * 161).segments == 2
    assert sms_size("a" * 306).segments == 2
    assert sms_size("a" * 307).segments == 3


def test_gsm7_extension_characters_count_twice():
    size = sms_size("€" * 80)
    assert (size.encoding, size.characters, size.units, size.segments) == (GSM7, 80, 160, 1)
    assert sms_size("€" * 81).segments == 2


def test_extension_character_is_not_split_across_segments():
    # 152 plain septets leave one septet in the first part: the two-septet € moves whole to the next.
    assert sms_size("a" * 152 + "€" + "a" * 152).segments == 3


def test_a_character_outside_gsm7_switches_the_whole_text_to_ucs2():
    assert sms_size("Olá, seu pedido está pronto ✓").encoding == UCS2
    assert sms_size("x" * 69 + "✓").segments == 1
    assert sms_size("x" * 70 + "✓").segments == 2
    assert sms_size("x" * 134).segments == 1  # still GSM-7
    assert sms_size("ж" * 134).segments == 2
    assert sms_size("ж" * 135).segments == 3


def test_emoji_take_two_ucs2_units_and_are_never_split():
    size = sms_size("🙂" * 35)
    assert (size.encoding, size.characters, size.units, size.segments) == (UCS2, 35, 70, 1)
    # 66 units then an emoji needing 2: it starts the second part.
    assert sms_size("ж" * 66 + "🙂" + "ж" * 10).segments == 2


def test_gsm7_accented_letters_stay_gsm7_but_other_accents_do_not():
    assert sms_size("Café à Zürich, Año Ñoño").encoding == GSM7
    assert sms_size("Pão").encoding == UCS2


def test_empty_text_costs_nothing():
    assert sms_size("").segments == 0
