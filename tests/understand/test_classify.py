"""Classifier: pinned seed article, morphology, hard negatives, compounds, abbreviations, API."""

from pathlib import Path

import pytest

from bot.understand.classify import Classification, Classifier

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def read_seed() -> tuple[str, str]:
    lines = (FIXTURES / "seed_khovar.txt").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines[1:] if not line.startswith("<image>"))
    return lines[0], text


def test_seed_article(clf: Classifier) -> None:
    result = clf.classify(*read_seed())
    assert {"human_rights", "cis", "un", "osce"} <= set(result.topics)
    assert set(result.countries) == {"tj", "az", "by", "kg", "ru", "tm", "uz"}
    assert result.countries == tuple(sorted(result.countries))
    assert "прав человека" in result.matches["human_rights"]
    assert "Таджикистана" in result.matches["tj"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("защита прав человека", "human_rights"),
        ("Уполномоченный по правам человека", "human_rights"),
        ("в области прав человека", "human_rights"),
        ("конференция о правах человека", "human_rights"),
        ("Права человека остаются приоритетом", "human_rights"),
        ("правозащитной проблематики", "human_rights"),
        ("работы правозащитных органов", "human_rights"),
        ("известный правозащитник", "human_rights"),
        ("штаб-квартира Содружества Независимых Государств", "cis"),
        ("государств Содружества Независимых Государств", "cis"),
        ("Содружество Независимых Государств", "cis"),
        ("заседание Евразийской экономической комиссии", "eaeu"),
        ("в Евразийском экономическом союзе", "eaeu"),
        ("Шанхайской организации сотрудничества", "sco"),
        ("Организации Договора о коллективной безопасности", "csto"),
        ("the UN human rights office", "human_rights"),
        ("Human Rights Council", "un"),
        ("Rights defenders said", "human_rights"),
        ("effects of climate change", "climate"),
        ("изменением климата", "climate"),
        ("введены новые санкции", "sanctions"),
        ("new sanctions on", "sanctions"),
    ],
)
def test_morphology_and_phrases(clf: Classifier, text: str, topic: str) -> None:
    result = clf.classify(text, "")
    assert topic in result.topics, result


@pytest.mark.parametrize(
    "text",
    [
        "Правительство утвердило правила управления",
        "правовой статус земель и правовые нормы",
        "Права на недвижимость и водительские права",
        "intellectual property rights enforcement",
        "copyrights and trademarks",
        "human resources and rights issue of shares",
        "авторские права и права собственности",
        "защита прав потребителей",
        "человек и право",  # scattered words are not the phrase
        "права, которые есть у каждого человека",
    ],
)
def test_hard_negatives_not_human_rights(clf: Classifier, text: str) -> None:
    assert "human_rights" not in clf.classify(text, "").topics


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("таджикско-узбекские переговоры", {"tj", "uz"}),
        ("российско-китайские отношения", {"ru", "cn"}),
        ("кыргызско-казахстанская граница", {"kg", "kz"}),
        ("армяно-азербайджанские переговоры", {"am", "az"}),
        ("американо-иранский диалог", {"us", "ir"}),
        ("казахстанская делегация", {"kz"}),
        ("Uzbek officials", {"uz"}),
        ("Tajikistan's foreign minister", {"tj"}),
        ("делегации Кыргызстана и Таджикистана", {"kg", "tj"}),
        ("в Беларуси и Белоруссии", {"by"}),
        ("Гвинея-Бисау", {"gw"}),
        ("Экваториальной Гвинеи", {"gq"}),
        ("Папуа — Новая Гвинея", {"pg"}),
        ("Гвинеи", {"gn"}),
        ("Нигер и Нигерия", {"ne", "ng"}),
        ("Niger and Nigeria", {"ne", "ng"}),
        ("Южной Кореи и КНДР", {"kr", "kp"}),
        ("Демократической Республики Конго", {"cd"}),
        ("Республики Конго", {"cg"}),
        ("Dominica and the Dominican Republic", {"dm", "do"}),
        ("Доминика и Доминиканская Республика", {"dm", "do"}),
        ("в Душанбе, Ташкенте и Москве", set()),  # capitals do not count
        ("turkey dinner", set()),
        ("Atlanta, Georgia", set()),
        ("Georgia's governor signed", set()),  # ambiguous name opening the title
        ("talks in Georgia's capital", {"ge"}),
        ("Michael Jordan", set()),
        ("the goal by Jordan Henderson", set()),  # ambiguous name followed by a surname
        ("talks with Jordan King Abdullah", {"jo"}),
        ("the sea of Japan", {"jp"}),
        ("в Японском море", set()),
        ("Turkey prices fall", set()),
        ("Turkey prices fall as Turkish lira slides", {"tr"}),
        ("государств-участников СНГ", set()),
        ("итогов Второй мировой войны", set()),
        ("Святой Престол и Государство Палестина", {"va", "ps"}),
        ("Holy See and Palestine", {"va", "ps"}),
    ],
)
def test_countries(clf: Classifier, text: str, countries: set[str]) -> None:
    assert set(clf.classify(text, "").countries) == countries


@pytest.mark.parametrize(
    ("text", "topic", "expected"),
    [
        ("Генсек ООН заявил", "un", True),
        ("словоООН и оон", "un", False),
        ("UN envoy", "un", True),
        ("un-elected and unusual", "un", False),
        ("UNESCO heritage", "un", True),
        ("встреча в СНГ", "cis", True),
        ("снг", "cis", False),
        ("CIS states", "cis", True),
        ("OSCE observers", "osce", True),
        ("osce", "osce", False),
        ("саммит ШОС", "sco", True),
        ("шоссе", "sco", False),
        ("NATO summit", "nato", True),
        ("G20 summit", "g20", True),
        ("ЕЭК ООН", "eaeu", False),
        ("ЕЭК", "eaeu", True),
    ],
)
def test_abbreviations_with_case(clf: Classifier, text: str, topic: str, expected: bool) -> None:
    assert (topic in clf.classify(text, "").topics) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("talks with the US", {"us"}), ("join us", set()), ("U.S. officials", {"us"})],
)
def test_us_is_not_us(clf: Classifier, text: str, expected: set[str]) -> None:
    assert set(clf.classify(text, "").countries) == expected


def test_api_surface(clf: Classifier) -> None:
    slugs = [t.slug for t in clf.topics]
    for slug in ("human_rights", "cis", "un", "osce", "eaeu", "csto", "sco", "brics"):
        assert slug in slugs
    assert len(slugs) == len(set(slugs))
    assert clf.country_name("tj", "ru") == "Таджикистан"
    assert clf.country_name("tj", "en") == "Tajikistan"
    assert len(clf.country_codes) == 195
    assert "va" in clf.country_codes and "ps" in clf.country_codes
    result = clf.classify("", "")
    assert result == Classification((), (), {})
    assert isinstance(clf.signature("a", "b"), bytes)


def test_catalog_override(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        '[[topic]]\nslug = "water"\nname_ru = "Вода"\nname_en = "Water"\nthreshold = 2\n'
        'terms = { "водные ресурсы" = 2 }\n',
        encoding="utf-8",
    )
    clf = Classifier.load(path)
    assert [t.slug for t in clf.topics] == ["water"]
    assert clf.classify("Управление водными ресурсами", "").topics == ("water",)


@pytest.mark.parametrize(
    ("title", "topic", "expected"),
    [
        # A context negative ("to the cloud") vetoes only an ambiguous word ("migration")...
        ("Bank completes migration of its systems to the cloud", "migration", False),
        # ...not an unambiguous one that reaches the threshold on its own.
        ("Uzbekistan moves migrant registration to the cloud", "migration", True),
        ("Евросоюз и Совет Европы обсудили реформу", "eu", True),
        ("Делегация Совета Европы посетила Баку", "eu", False),
        ("Суд дал санкцию на арест за обход санкций", "sanctions", True),
        ("Суд дал санкцию на арест", "sanctions", False),
    ],
)
def test_negative_terms_need_no_strong_evidence(
    clf: Classifier, title: str, topic: str, expected: bool
) -> None:
    assert (topic in clf.classify(title, "").topics) is expected, clf.classify(title, "")


def test_ambiguous_terms_come_from_negative_phrases(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        '[[topic]]\nslug = "m"\nname_ru = "М"\nname_en = "M"\nthreshold = 2\n'
        'terms = { "migration" = 2, "migrant" = 2 }\n'
        'negative = { "bird migration" = 3, "cloud" = 2 }\n',
        encoding="utf-8",
    )
    clf = Classifier.load(path)
    assert clf.classify("migration to the cloud", "").topics == ()  # ambiguous: vetoed
    assert clf.classify("migrant data in the cloud", "").topics == ("m",)  # strong: kept
    assert clf.classify("bird migration", "").topics == ()  # swallowed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Совет безопасности Казахстана обсудил охрану границы", False),
        ("Security Council of Belarus met in Minsk", False),
        ("Kazakhstan's Security Council reviewed the plan", False),
        ("Российский Совбез обсудил", False),
        ("Секретарь Совета безопасности принял делегацию", False),
        ("Генеральная ассамблея Азиатской федерации борьбы", False),
        ("Генассамблея ФИФА прошла в Бангкоке", False),
        ("general assembly of the Asian Football Confederation", False),
        ("Генеральная ассамблея акционеров банка", False),
        ("Совет Безопасности ООН продлил мандат", True),
        ("The Security Council voted to extend the mission", True),
        ("Министр выступил на сессии Генеральной Ассамблеи", True),
        ("the General Assembly of the United Nations adopted", True),
    ],
)
def test_generic_bodies_need_no_other_owner(clf: Classifier, text: str, expected: bool) -> None:
    assert ("un" in clf.classify(text, "").topics) is expected, clf.classify(text, "")


@pytest.mark.parametrize(
    ("text", "topic", "expected"),
    [
        ("Игры Содружества наций откроются в Глазго", "cis", False),
        ("государства Содружества Независимых Государств", "cis", True),
        ("ЕЭК ООН провела семинар; по данным ЕЭК, время можно сократить", "eaeu", False),
        ("ЕЭК ООН провела семинар; по данным ЕЭК, время можно сократить", "un", True),
        ("Коллегия Евразийской экономической комиссии; решение ЕЭК", "eaeu", True),
        ("the UN Economic Commission for Europe", "eaeu", False),
        ("the UN Economic Commission for Europe", "un", True),
    ],
)
def test_other_commonwealths_and_commissions(
    clf: Classifier, text: str, topic: str, expected: bool
) -> None:
    assert (topic in clf.classify(text, "").topics) is expected, clf.classify(text, "")


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("В Кулябе Хатлонской области открыли школу", {"tj"}),
        ("в Хатлоне и Согде", {"tj"}),
        ("за Наманганом и Андижаном", {"uz"}),
        ("в Гомеле и Витебске", {"by"}),
        ("в Бельцах", {"md"}),
        ("в Оше и Джалал-Абаде", {"kg"}),
        ("на Иссык-Куле", {"kg"}),
        ("Mudslide in Jalal-Abad region", {"kg"}),
        ("Clashes near Jalalabad", {"af"}),
        ("Karaganda miners", {"kz"}),
        ("Earthquake in East Azerbaijan province", {"ir"}),
        ("в провинции Восточный Азербайджан", {"ir"}),
        ("Luxembourg province floods", {"be"}),
        # A dateline is the agency's location, not the story's.
        ("ХУДЖАНД, 3 марта /Ховар/. Парламент Греции", {"gr"}),
        ("OSH, March 3 (Kabar) - Japan launched", {"jp"}),
        # Ambiguous places need the country or another of its places.
        ("The shipyard in Brest won a navy contract", set()),
        ("Floods in Brest and Grodno", {"by"}),
        ("Odessa, Texas oil workers", set()),
        ("port of Odesa", {"ua"}),
        ("памятник Алишеру Навои", set()),
        ("в Навои построят комбинат", {"uz"}),
        ("водные ресурсы Ферганской долины", set()),
    ],
)
def test_places_stand_for_their_country(clf: Classifier, text: str, countries: set[str]) -> None:
    assert set(clf.classify(text, "").countries) == countries, clf.classify(text, "").matches


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("на Большой Грузинской улице", set()),
        ("в Армянском переулке", set()),
        ("в Болгарском квартале", set()),
        ("улица Грузинская перекрыта", set()),
        ("станция Китай-город", set()),
        ("гостиница Украина", set()),
        ("документы Казахской ССР", set()),
        ("распад Австро-Венгрии", set()),
        ("Little Armenia festival", set()),
        ("wildfire in New Mexico", set()),
        ("the Armenian Quarter of the old city", set()),
        ("the Governor of Georgia signed", set()),
        ("in Mexico City", set()),
        # The country itself stays: lower-case, genitive, not after a street word.
        ("на улицах грузинской столицы", {"ge"}),
        ("на улицах Украины", {"ua"}),
        ("гостиницы Армении заполнены", {"am"}),
        ("Армянская делегация прибыла", {"am"}),
        ("Georgian wine exports", {"ge"}),
    ],
)
def test_country_names_inside_place_names(clf: Classifier, text: str, countries: set[str]) -> None:
    assert set(clf.classify(text, "").countries) == countries, clf.classify(text, "").matches


def test_places_file_must_name_known_countries(tmp_path: Path) -> None:
    path = tmp_path / "places.toml"
    path.write_text('[places.xx]\nru = ["Нигдебург"]\nen = []\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown country"):
        Classifier.load(places_path=path)


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("Hyundai's Georgia battery plant near Savannah in the U.S. state of Georgia", {"us"}),
        ("Nike's Jordan brand, named after Michael Jordan", set()),
        ("Jordan's king met Michael Jordan; Jordanian officials", {"jo"}),
        ("talks in Georgia's capital", {"ge"}),
    ],
)
def test_one_sense_per_text_for_ambiguous_names(
    clf: Classifier, text: str, countries: set[str]
) -> None:
    assert set(clf.classify(text, "").countries) == countries, clf.classify(text, "").matches
