"""Open answers of the demo respondents, in their own language, matching score and reasons.

A comment is put together from phrase banks: an opening that fits the loyalty class, a phrase for
each reason the respondent cited (or for what they rated best or worst), and sometimes a closing.
Phrases name the situation (a queue at a branch, a line on hold, the app after its troubled
release), so that text analysis later finds the same topics as the reasons and ratings.
"""

import random
from collections.abc import Sequence

Bank = dict[str, tuple[str, ...]]

EN: Bank = {
    "open:promoter": (
        "Very good experience.",
        "Excellent service, as always.",
        "I am very satisfied.",
        "Everything went smoothly.",
        "Great job!",
        "A really pleasant experience.",
        "Top service.",
        "Nothing to complain about.",
    ),
    "open:passive": (
        "It was OK.",
        "Decent service, but there is room for improvement.",
        "Overall fine.",
        "Not bad, not great.",
        "Mostly OK.",
        "Acceptable.",
    ),
    "open:detractor": (
        "Very disappointing.",
        "Not happy at all.",
        "Unacceptable.",
        "A frustrating experience.",
        "I expected much more from my bank.",
        "Honestly, a bad experience.",
    ),
    "reason:waiting_time:branch": (
        "I waited {minutes} in the queue.",
        "The queue was far too long and only one desk was open.",
        "Too long a wait for a simple operation.",
        "Half the desks were closed while the queue kept growing.",
        "It took ages before anyone saw me.",
    ),
    "reason:waiting_time:call": (
        "I was on hold for {minutes}.",
        "It took forever to get through to a consultant.",
        "The hold music lasted longer than the conversation itself.",
        "I had to call three times before someone answered.",
    ),
    "reason:staff_attitude": (
        "The staff member was rude and impatient.",
        "Nobody smiled or even said hello.",
        "I felt like I was bothering them.",
        "The consultant brushed me off.",
        "The attitude was unprofessional.",
    ),
    "reason:wrong_information": (
        "I got different answers from different people.",
        "The information I was given turned out to be wrong.",
        "Nobody could explain the conditions clearly.",
        "I had to come back because they forgot a document.",
        "They told me one thing on the phone and another in the branch.",
    ),
    "reason:fees": (
        "The fees are too high for what you get.",
        "I was charged a fee nobody told me about.",
        "Account maintenance costs keep going up.",
        "Other banks offer the same for free.",
    ),
    "reason:app_problems": (
        "The mobile app keeps logging me out.",
        "I could not make a transfer in the app.",
        "The app is slow and confusing.",
        "Card payments do not show up in the app.",
    ),
    "reason:app_release": (
        "Since the last app update I cannot log in.",
        "After the new version of the app, fingerprint login stopped working.",
        "The new app crashes every time I open my accounts.",
        "I had to call because the updated app would not confirm my transfer.",
    ),
    "reason:process_complex": (
        "Far too much paperwork for a simple change.",
        "I had to sign the same documents several times.",
        "The process is complicated and nobody guides you through it.",
        "Why do I have to come to the branch for something so simple?",
    ),
    "reason:opening_hours": (
        "The branch closes too early for people who work.",
        "Closed on Saturdays, so I had to take time off work.",
        "The opening hours on the door were wrong.",
    ),
    "reason:transfers": (
        "I was transferred three times and had to repeat everything.",
        "Every new consultant asked for the same details again.",
        "The call was dropped when they transferred me.",
    ),
    "reason:product_offer": (
        "The savings rates are not competitive.",
        "There is no offer that fits small business owners.",
        "The mortgage offer was worse than at other banks.",
    ),
    "praise:speed": (
        "I was served within a few minutes.",
        "Quick and efficient.",
        "No waiting at all.",
    ),
    "praise:competence": (
        "The person who served me knew exactly what to do.",
        "Very professional and well informed.",
        "All my questions were answered.",
    ),
    "praise:friendliness:branch": (
        "Very friendly and patient staff.",
        "The lady at the desk was lovely.",
        "Kind and polite from start to finish.",
    ),
    "praise:friendliness:call": (
        "The consultant on the phone was very kind.",
        "A patient and friendly voice on the line.",
        "Polite from start to finish.",
    ),
    "praise:clarity": (
        "Everything was explained clearly.",
        "I finally understand the conditions of my loan.",
        "Clear answers, no jargon.",
    ),
    "praise:resolved": (
        "My problem was solved on the spot.",
        "Sorted out in one go.",
    ),
    "praise:products": (
        "The products fit my needs well.",
        "Good conditions on my mortgage.",
    ),
    "praise:fees": (
        "Fair fees compared to other banks.",
        "No hidden costs.",
    ),
    "praise:digital": (
        "The app is excellent and I rarely need a branch.",
        "Internet banking works flawlessly.",
    ),
    "praise:branch_service": (
        "The people in my branch know me and always help.",
        "My branch is always well organised.",
    ),
    "mild:speed": ("It could be a bit faster.", "A second desk open at lunchtime would help."),
    "mild:competence": ("I had to ask twice before getting an answer.",),
    "mild:friendliness": ("A bit more warmth would not hurt.",),
    "mild:clarity": ("The explanations could be clearer.",),
    "mild:fees": ("The fees are a bit high.",),
    "mild:digital": ("The app could be simpler.",),
    "mild:products": ("The offer could be more flexible.",),
    "mild:branch_service": ("The branch is often crowded.",),
    "close:promoter": (
        "Thank you!",
        "Keep it up.",
        "I will definitely recommend you.",
        "Thanks to the whole team.",
    ),
    "close:passive": ("Otherwise fine.", "I hope it gets better."),
    "close:detractor": (
        "Please do something about it.",
        "I am thinking of moving to another bank.",
        "This needs to change.",
        "I expect a call back.",
    ),
}

RO: Bank = {
    "open:promoter": (
        "Experiență foarte bună.",
        "Servicii excelente, ca de obicei.",
        "Sunt foarte mulțumit.",
        "Sunt foarte mulțumită.",
        "Totul a mers perfect.",
        "Felicitări echipei!",
        "O experiență foarte plăcută.",
        "Nimic de reproșat.",
    ),
    "open:passive": (
        "A fost în regulă.",
        "Servicii decente, dar se poate și mai bine.",
        "În general, bine.",
        "Nici bine, nici rău.",
        "Acceptabil.",
        "Per total, ok.",
    ),
    "open:detractor": (
        "Foarte dezamăgitor.",
        "Sunt nemulțumit.",
        "Inacceptabil.",
        "O experiență frustrantă.",
        "Mă așteptam la mult mai mult de la banca mea.",
        "Sincer, o experiență proastă.",
    ),
    "reason:waiting_time:branch": (
        "Am așteptat {minutes} la coadă.",
        "Coada era mult prea lungă și era deschis un singur ghișeu.",
        "Prea multă așteptare pentru o operațiune simplă.",
        "Jumătate din ghișee erau închise, iar coada tot creștea.",
        "A durat o veșnicie până m-a preluat cineva.",
    ),
    "reason:waiting_time:call": (
        "Am stat în așteptare {minutes}.",
        "A durat o veșnicie până am dat de un consultant.",
        "Muzica de așteptare a durat mai mult decât convorbirea propriu-zisă.",
        "A trebuit să sun de trei ori până mi-a răspuns cineva.",
    ),
    "reason:staff_attitude": (
        "Angajatul a fost nepoliticos și nerăbdător.",
        "Nimeni nu a zâmbit și nici măcar nu m-a salutat.",
        "Am avut senzația că deranjez.",
        "Consultantul m-a expediat rapid, fără să mă asculte.",
        "Atitudinea a fost neprofesionistă.",
    ),
    "reason:wrong_information": (
        "Am primit răspunsuri diferite de la persoane diferite.",
        "Informațiile primite s-au dovedit greșite.",
        "Nimeni nu a putut explica clar condițiile.",
        "A trebuit să revin pentru că au uitat de un document.",
        "La telefon mi s-a spus un lucru, iar la sucursală altul.",
    ),
    "reason:fees": (
        "Comisioanele sunt prea mari pentru ce primești.",
        "Mi s-a perceput un comision despre care nu mi-a spus nimeni.",
        "Costul de administrare a contului tot crește.",
        "Alte bănci oferă același lucru gratuit.",
    ),
    "reason:app_problems": (
        "Aplicația mobilă mă deconectează mereu.",
        "Nu am putut face un transfer din aplicație.",
        "Aplicația este lentă și greu de folosit.",
        "Plățile cu cardul nu apar în aplicație.",
    ),
    "reason:app_release": (
        "De la ultima actualizare a aplicației nu mă mai pot autentifica.",
        "După noua versiune a aplicației, autentificarea cu amprenta nu mai funcționează.",
        "Noua aplicație se închide de fiecare dată când îmi deschid conturile.",
        "A trebuit să sun pentru că aplicația actualizată nu îmi confirma transferul.",
    ),
    "reason:process_complex": (
        "Mult prea multe hârtii pentru o modificare simplă.",
        "A trebuit să semnez aceleași documente de mai multe ori.",
        "Procedura e complicată și nimeni nu te îndrumă.",
        "De ce trebuie să vin la sucursală pentru ceva atât de simplu?",
    ),
    "reason:opening_hours": (
        "Sucursala se închide prea devreme pentru cei care lucrează.",
        "Sâmbăta e închis, așa că a trebuit să-mi iau liber de la serviciu.",
        "Programul afișat pe ușă era greșit.",
    ),
    "reason:transfers": (
        "Am fost transferat de trei ori și a trebuit să repet totul.",
        "Fiecare consultant nou mi-a cerut din nou aceleași date.",
        "Convorbirea s-a întrerupt când m-au transferat.",
    ),
    "reason:product_offer": (
        "Dobânzile la economii nu sunt competitive.",
        "Nu există o ofertă potrivită pentru micii antreprenori.",
        "Oferta de credit ipotecar a fost mai slabă decât la alte bănci.",
    ),
    "praise:speed": (
        "Am fost servit în câteva minute.",
        "Rapid și eficient.",
        "Nu am așteptat deloc.",
    ),
    "praise:competence": (
        "Persoana care m-a servit a știut exact ce are de făcut.",
        "Foarte profesionist și bine informat.",
        "Mi s-a răspuns la toate întrebările.",
    ),
    "praise:friendliness:branch": (
        "Personal foarte amabil și răbdător.",
        "Doamna de la ghișeu a fost foarte drăguță.",
        "Amabilitate de la început până la sfârșit.",
    ),
    "praise:friendliness:call": (
        "Consultanta de la telefon a fost foarte amabilă.",
        "O voce răbdătoare și prietenoasă la telefon.",
        "Politețe de la început până la sfârșit.",
    ),
    "praise:clarity": (
        "Totul mi-a fost explicat clar.",
        "În sfârșit înțeleg condițiile creditului meu.",
        "Răspunsuri clare, fără termeni complicați.",
    ),
    "praise:resolved": (
        "Problema mi-a fost rezolvată pe loc.",
        "Totul s-a rezolvat dintr-o singură încercare.",
    ),
    "praise:products": (
        "Produsele se potrivesc bine nevoilor mele.",
        "Condiții bune la creditul ipotecar.",
    ),
    "praise:fees": (
        "Comisioane corecte față de alte bănci.",
        "Fără costuri ascunse.",
    ),
    "praise:digital": (
        "Aplicația este excelentă și rar am nevoie de sucursală.",
        "Internet banking-ul funcționează impecabil.",
    ),
    "praise:branch_service": (
        "Oamenii de la sucursala mea mă cunosc și mă ajută mereu.",
        "Sucursala mea este mereu bine organizată.",
    ),
    "mild:speed": (
        "Ar putea fi puțin mai rapid.",
        "Ar ajuta încă un ghișeu deschis la prânz.",
    ),
    "mild:competence": ("A trebuit să întreb de două ori până am primit un răspuns.",),
    "mild:friendliness": ("Puțină căldură în plus nu ar strica.",),
    "mild:clarity": ("Explicațiile ar putea fi mai clare.",),
    "mild:fees": ("Comisioanele sunt cam mari.",),
    "mild:digital": ("Aplicația ar putea fi mai simplă.",),
    "mild:products": ("Oferta ar putea fi mai flexibilă.",),
    "mild:branch_service": ("Sucursala este deseori aglomerată.",),
    "close:promoter": (
        "Mulțumesc!",
        "Continuați tot așa.",
        "Vă voi recomanda cu siguranță.",
        "Mulțumiri întregii echipe.",
    ),
    "close:passive": ("În rest, totul bine.", "Sper să se îmbunătățească."),
    "close:detractor": (
        "Vă rog să faceți ceva în privința asta.",
        "Mă gândesc să trec la altă bancă.",
        "Trebuie schimbat ceva.",
        "Aștept să fiu contactat.",
    ),
}

PL: Bank = {
    "open:promoter": (
        "Bardzo dobra obsługa.",
        "Wszystko przebiegło sprawnie.",
        "Świetna robota!",
        "Jestem bardzo zadowolony.",
        "Jestem bardzo zadowolona.",
        "Bardzo miłe doświadczenie.",
        "Obsługa na najwyższym poziomie.",
        "Nie mam żadnych zastrzeżeń.",
    ),
    "open:passive": (
        "Było w porządku.",
        "Przyzwoita obsługa, ale można lepiej.",
        "Ogólnie dobrze.",
        "Ani dobrze, ani źle.",
        "Do przyjęcia.",
        "Raczej w porządku.",
    ),
    "open:detractor": (
        "Bardzo rozczarowujące.",
        "Jestem niezadowolony.",
        "To nie do przyjęcia.",
        "Frustrujące doświadczenie.",
        "Spodziewałam się dużo więcej po swoim banku.",
        "Szczerze mówiąc, słaba obsługa.",
    ),
    "reason:waiting_time:branch": (
        "Czekanie w kolejce trwało {minutes}.",
        "Kolejka była o wiele za długa, a otwarte było tylko jedno stanowisko.",
        "Zdecydowanie za długie oczekiwanie jak na prostą operację.",
        "Połowa okienek była zamknięta, a kolejka rosła.",
        "Minęła cała wieczność, zanim ktoś mnie obsłużył.",
    ),
    "reason:waiting_time:call": (
        "Oczekiwanie na połączenie trwało {minutes}.",
        "Dodzwonienie się do konsultanta trwało wieki.",
        "Muzyczka w oczekiwaniu grała dłużej niż trwała sama rozmowa.",
        "Musiałem dzwonić trzy razy, zanim ktoś odebrał.",
    ),
    "reason:staff_attitude": (
        "Pracownik był niegrzeczny i niecierpliwy.",
        "Nikt się nie uśmiechnął ani nawet nie przywitał.",
        "Miałam wrażenie, że przeszkadzam.",
        "Konsultant zbył mnie byle czym.",
        "Postawa pracownika była nieprofesjonalna.",
    ),
    "reason:wrong_information": (
        "Każda osoba mówiła mi coś innego.",
        "Informacje, które dostałem, okazały się błędne.",
        "Nikt nie potrafił jasno wyjaśnić warunków.",
        "Musiałam przyjść ponownie, bo zapomniano o jednym dokumencie.",
        "Przez telefon powiedziano mi co innego niż w oddziale.",
    ),
    "reason:fees": (
        "Opłaty są za wysokie w stosunku do tego, co się dostaje.",
        "Pobrano ode mnie opłatę, o której nikt mnie nie poinformował.",
        "Opłaty za prowadzenie konta ciągle rosną.",
        "Inne banki oferują to samo za darmo.",
    ),
    "reason:app_problems": (
        "Aplikacja mobilna ciągle mnie wylogowuje.",
        "Nie udało mi się zrobić przelewu w aplikacji.",
        "Aplikacja jest wolna i nieczytelna.",
        "Płatności kartą nie pojawiają się w aplikacji.",
    ),
    "reason:app_release": (
        "Od ostatniej aktualizacji aplikacji nie mogę się zalogować.",
        "Po aktualizacji aplikacji przestało działać logowanie odciskiem palca.",
        "Nowa wersja aplikacji zawiesza się przy każdym otwarciu rachunków.",
        "Musiałem zadzwonić, bo zaktualizowana aplikacja nie chciała potwierdzić przelewu.",
    ),
    "reason:process_complex": (
        "O wiele za dużo papierów jak na prostą zmianę.",
        "Kilka razy podpisywałam te same dokumenty.",
        "Procedura jest skomplikowana i nikt nie pomaga przez nią przejść.",
        "Dlaczego w tak prostej sprawie trzeba przychodzić do oddziału?",
    ),
    "reason:opening_hours": (
        "Oddział zamykają za wcześnie jak na osoby pracujące.",
        "W soboty zamknięte, więc musiałem wziąć wolne w pracy.",
        "Godziny otwarcia na drzwiach były nieaktualne.",
    ),
    "reason:transfers": (
        "Przełączano mnie trzy razy i za każdym razem trzeba było wszystko powtarzać.",
        "Każdy kolejny konsultant pytał o te same dane.",
        "Rozmowa została przerwana przy przełączaniu.",
    ),
    "reason:product_offer": (
        "Oprocentowanie oszczędności nie jest konkurencyjne.",
        "Brakuje oferty dla małych firm.",
        "Oferta kredytu hipotecznego była gorsza niż w innych bankach.",
    ),
    "praise:speed": (
        "Obsługa zajęła kilka minut.",
        "Szybko i sprawnie.",
        "Zero czekania.",
    ),
    "praise:competence": (
        "Osoba, która mnie obsługiwała, dokładnie wiedziała, co zrobić.",
        "Bardzo profesjonalnie i kompetentnie.",
        "Dostałem odpowiedzi na wszystkie pytania.",
    ),
    "praise:friendliness:branch": (
        "Bardzo miły i cierpliwy personel.",
        "Pani przy okienku była przemiła.",
        "Uprzejmie od początku do końca.",
    ),
    "praise:friendliness:call": (
        "Pani konsultantka przez telefon była bardzo uprzejma.",
        "Cierpliwy i życzliwy konsultant.",
        "Uprzejmie od początku do końca.",
    ),
    "praise:clarity": (
        "Wszystko zostało jasno wyjaśnione.",
        "W końcu rozumiem warunki mojego kredytu.",
        "Jasne odpowiedzi, bez żargonu.",
    ),
    "praise:resolved": (
        "Sprawa załatwiona od ręki.",
        "Wszystko załatwione za pierwszym razem.",
    ),
    "praise:products": (
        "Produkty dobrze odpowiadają moim potrzebom.",
        "Dobre warunki kredytu hipotecznego.",
    ),
    "praise:fees": (
        "Uczciwe opłaty w porównaniu z innymi bankami.",
        "Żadnych ukrytych kosztów.",
    ),
    "praise:digital": (
        "Aplikacja jest świetna, rzadko muszę chodzić do oddziału.",
        "Bankowość internetowa działa bez zarzutu.",
    ),
    "praise:branch_service": (
        "W moim oddziale mnie znają i zawsze pomagają.",
        "Mój oddział jest zawsze dobrze zorganizowany.",
    ),
    "mild:speed": (
        "Mogłoby być trochę szybciej.",
        "W porze lunchu przydałoby się drugie otwarte stanowisko.",
    ),
    "mild:competence": ("Na odpowiedź trzeba było zapytać dwa razy.",),
    "mild:friendliness": ("Odrobina życzliwości by nie zaszkodziła.",),
    "mild:clarity": ("Wyjaśnienia mogłyby być jaśniejsze.",),
    "mild:fees": ("Opłaty są trochę za wysokie.",),
    "mild:digital": ("Aplikacja mogłaby być prostsza.",),
    "mild:products": ("Oferta mogłaby być bardziej elastyczna.",),
    "mild:branch_service": ("W oddziale często jest tłoczno.",),
    "close:promoter": (
        "Dziękuję!",
        "Tak trzymać.",
        "Na pewno będę was polecać.",
        "Podziękowania dla całego zespołu.",
    ),
    "close:passive": ("Poza tym w porządku.", "Mam nadzieję, że będzie lepiej."),
    "close:detractor": (
        "Proszę coś z tym zrobić.",
        "Zastanawiam się nad zmianą banku.",
        "To musi się zmienić.",
        "Oczekuję kontaktu.",
    ),
}

BANKS: dict[str, Bank] = {"en": EN, "ro": RO, "pl": PL}


def minutes_phrase(language: str, minutes: int) -> str:
    """ "25 minutes" with the grammar of the language (Romanian "de", Polish plural forms)."""
    if language == "ro":
        return (
            f"{minutes} de minute" if minutes % 100 >= 20 or minutes == 0 else f"{minutes} minute"
        )
    if language == "pl":
        if minutes == 1:
            return "minutę"
        few = minutes % 10 in (2, 3, 4) and minutes % 100 not in (12, 13, 14)
        return f"{minutes} minuty" if few else f"{minutes} minut"
    return f"{minutes} minutes"


def _reason_key(bank: Bank, reason: str, setting: str, app_release: bool) -> str:
    if reason == "app_problems" and app_release:
        return "reason:app_release"
    specific = f"reason:{reason}:{setting}"
    if specific in bank:
        return specific
    return f"reason:{reason}" if f"reason:{reason}" in bank else "reason:waiting_time:branch"


def _praise_key(bank: Bank, attribute: str, setting: str) -> str:
    specific = f"praise:{attribute}:{setting}"
    return specific if specific in bank else f"praise:{attribute}"


def verbatim(
    rng: random.Random,
    *,
    language: str,
    loyalty: str,
    reasons: Sequence[str],
    best: Sequence[str],
    worst: str,
    setting: str,
    app_release: bool = False,
    resolved: bool = False,
) -> str:
    """One respondent's comment.

    `loyalty` is promoter, passive or detractor; `reasons` the option codes they chose; `best` the
    attributes they rated highest and `worst` the lowest (rating keys); `setting` is branch, call
    or relationship; `app_release` says the troubled app version was live.
    """
    bank = BANKS[language]
    setting_key = "call" if setting == "call" else "branch"
    parts: list[str] = []
    if rng.random() < 0.8:
        parts.append(rng.choice(bank[f"open:{loyalty}"]))
    if loyalty == "detractor":
        cited = list(reasons[:2]) or [_worst_as_reason(worst)]
        for reason in cited:
            phrase = rng.choice(bank[_reason_key(bank, reason, setting_key, app_release)])
            parts.append(phrase.format(minutes=minutes_phrase(language, rng.choice(WAITS))))
    elif loyalty == "promoter":
        chosen = list(best[:2]) if best else []
        if resolved and rng.random() < 0.3:
            chosen = ["resolved", *chosen[:1]]
        for attribute in chosen[: 1 + (rng.random() < 0.35)]:
            parts.append(rng.choice(bank[_praise_key(bank, attribute, setting_key)]))
    else:
        if best and rng.random() < 0.5:
            parts.append(rng.choice(bank[_praise_key(bank, best[0], setting_key)]))
        parts.append(rng.choice(bank[f"mild:{worst}"]))
    if not parts or rng.random() < 0.45:
        parts.append(rng.choice(bank[f"close:{loyalty}"]))
    text = " ".join(parts)
    # People type the way they type: some without capitals or the last full stop.
    style = rng.random()
    if style < 0.08:
        text = text.lower()
    elif style < 0.2:
        text = text.rstrip(".")
    return text


WAITS = (15, 20, 25, 30, 35, 40, 45, 50, 60)
WORST_AS_REASON = {
    "speed": "waiting_time",
    "competence": "wrong_information",
    "clarity": "wrong_information",
    "friendliness": "staff_attitude",
    "fees": "fees",
    "digital": "app_problems",
    "products": "product_offer",
    "branch_service": "waiting_time",
}


def _worst_as_reason(worst: str) -> str:
    return WORST_AS_REASON.get(worst, "waiting_time")


def phrase_count() -> int:
    """How many distinct phrases the banks hold, all languages together."""
    return sum(len(set(phrases)) for bank in BANKS.values() for phrases in bank.values())
