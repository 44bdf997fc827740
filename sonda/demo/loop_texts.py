"""What the demo bank's staff write while closing the loop: callback notes, reasons for reopening
and for taking cases out of the queue, and coaching notes, in English, Romanian and Polish.

Staff write in their own language: branch and call-centre managers in their country's, the HQ
analyst and the executive in English.
"""

Texts = tuple[str, str, str]  # en, ro, pl
LANGUAGE_INDEX = {"en": 0, "ro": 1, "pl": 2}


def in_language(texts: Texts, language: str) -> str:
    return texts[LANGUAGE_INDEX.get(language, 0)]


# What the owner wrote after the callback, by the root cause the call found.
CALLBACK_NOTES: dict[str, Texts] = {
    "process.waiting": (
        (
            "Called back: the customer waited far too long to be served. Apologised; explained "
            "that we are changing the desk rota at peak hours."
        ),
        (
            "Am sunat clientul: a așteptat mult prea mult să fie servit. Ne-am cerut scuze și i-am"
            " explicat că schimbăm programul ghișeelor la orele de vârf."
        ),
        (
            "Oddzwoniłem: klient czekał zdecydowanie za długo na obsługę. Przeprosiłem i "
            "wyjaśniłem, że zmieniamy grafik stanowisk w godzinach szczytu."
        ),
    ),
    "process.staffing": (
        (
            "Only one desk was open on Monday morning while the queue grew. The customer wants to "
            "see more desks open at the start of the week."
        ),
        (
            "Luni dimineață era deschis un singur ghișeu, iar coada creștea. Clientul vrea mai "
            "multe ghișee deschise la început de săptămână."
        ),
        (
            "W poniedziałek rano otwarte było tylko jedno stanowisko, a kolejka rosła. Klient "
            "oczekuje więcej otwartych stanowisk na początku tygodnia."
        ),
    ),
    "process.paperwork": (
        (
            "The customer had to sign the same documents several times. Walked them through what "
            "is still needed and sent the list by email."
        ),
        (
            "Clientul a trebuit să semneze aceleași documente de mai multe ori. I-am explicat ce "
            "mai este necesar și i-am trimis lista pe email."
        ),
        (
            "Klient musiał kilka razy podpisywać te same dokumenty. Omówiłem, czego jeszcze "
            "potrzebujemy, i wysłałem listę mailem."
        ),
    ),
    "process.transfers": (
        (
            "Transferred three times and had to repeat everything. Took the request myself and "
            "finished it during the call."
        ),
        (
            "A fost transferat de trei ori și a trebuit să repete totul. Am preluat eu solicitarea"
            " și am rezolvat-o în timpul apelului."
        ),
        (
            "Klient był przełączany trzy razy i musiał wszystko powtarzać. Przejąłem sprawę i "
            "załatwiłem ją w trakcie rozmowy."
        ),
    ),
    "staff.attitude": (
        (
            "The customer felt brushed off by the person who served them. Apologised on behalf of "
            "the team; will talk to the colleague."
        ),
        (
            "Clientul s-a simțit expediat de persoana care l-a servit. Ne-am cerut scuze în numele"
            " echipei; voi vorbi cu colegul."
        ),
        (
            "Klient poczuł się zbyty przez osobę, która go obsługiwała. Przeprosiłem w imieniu "
            "zespołu; porozmawiam z pracownikiem."
        ),
    ),
    "staff.competence": (
        (
            "The colleague could not answer questions about the product and sent the customer "
            "away. Answered them now; a refresher on the product for the colleague."
        ),
        (
            "Colegul nu a știut să răspundă la întrebările despre produs și l-a trimis pe client "
            "acasă. I-am răspuns acum; colegul va repeta instruirea pe produs."
        ),
        (
            "Pracownik nie umiał odpowiedzieć na pytania o produkt i odesłał klienta. "
            "Odpowiedziałem teraz; pracownik powtórzy szkolenie produktowe."
        ),
    ),
    "staff.information": (
        (
            "The customer got different answers in the branch and on the phone. Confirmed the "
            "right conditions in writing."
        ),
        (
            "Clientul a primit răspunsuri diferite la sucursală și la telefon. I-am confirmat în "
            "scris condițiile corecte."
        ),
        (
            "Klient dostał inne odpowiedzi w oddziale i przez telefon. Potwierdziłem na piśmie "
            "właściwe warunki."
        ),
    ),
    "product.fees": (
        (
            "A fee the customer did not expect. Explained the tariff; passed the feedback on to "
            "pricing."
        ),
        (
            "Un comision pe care clientul nu îl aștepta. I-am explicat tariful; am transmis "
            "părerea către echipa de prețuri."
        ),
        (
            "Opłata, której klient się nie spodziewał. Wyjaśniłem taryfę; przekazałem uwagę do "
            "działu cenników."
        ),
    ),
    "product.fit": (
        (
            "The offer does not fit the customer's needs (rates below competitors'). Passed on to "
            "the product team."
        ),
        (
            "Oferta nu se potrivește nevoilor clientului (dobânzi sub cele ale concurenței). Am "
            "transmis echipei de produs."
        ),
        (
            "Oferta nie odpowiada potrzebom klienta (oprocentowanie niższe niż u konkurencji). "
            "Przekazałem zespołowi produktowemu."
        ),
    ),
    "product.availability": (
        (
            "The card the customer wanted was not available at the branch. Ordered it for delivery"
            " by courier."
        ),
        (
            "Cardul dorit de client nu era disponibil la sucursală. L-am comandat cu livrare prin "
            "curier."
        ),
        (
            "Karta, której chciał klient, nie była dostępna w oddziale. Zamówiłem ją z dostawą "
            "kurierem."
        ),
    ),
    "billing.wrong_charge": (
        (
            "A charge on the statement was wrong. Raised a correction; the customer gets the "
            "amount back within five working days."
        ),
        (
            "O sumă de pe extras era greșită. Am cerut corecția; clientul primește banii înapoi în"
            " cinci zile lucrătoare."
        ),
        (
            "Błędne obciążenie na wyciągu. Zgłosiłem korektę; klient otrzyma zwrot w ciągu pięciu "
            "dni roboczych."
        ),
    ),
    "digital.app_errors": (
        (
            "The app showed an error when making a transfer. Did the transfer with the customer by"
            " phone; reported the error to Digital."
        ),
        (
            "Aplicația a afișat o eroare la transfer. Am făcut transferul cu clientul la telefon; "
            "am raportat eroarea echipei Digital."
        ),
        (
            "Aplikacja pokazała błąd przy przelewie. Zrobiłem przelew z klientem przez telefon; "
            "zgłosiłem błąd do zespołu Digital."
        ),
    ),
    "digital.login": (
        (
            "Cannot log in since the January app update (fingerprint login fails). Reset the "
            "access; the fix is on its way from Digital."
        ),
        (
            "Nu se mai poate autentifica de la actualizarea aplicației din ianuarie (amprenta nu "
            "funcționează). Am resetat accesul; remedierea vine de la Digital."
        ),
        (
            "Od styczniowej aktualizacji aplikacji nie może się zalogować (logowanie odciskiem "
            "palca nie działa). Zresetowałem dostęp; poprawka jest w drodze."
        ),
    ),
    "branch.opening_hours": (
        (
            "The branch closes before the customer finishes work. Told them about the Saturday "
            "opening of the nearest branch."
        ),
        (
            "Sucursala se închide înainte ca clientul să termine lucrul. I-am spus de programul de"
            " sâmbătă al celei mai apropiate sucursale."
        ),
        (
            "Oddział zamyka się, zanim klient skończy pracę. Poinformowałem o sobotnich godzinach "
            "najbliższego oddziału."
        ),
    ),
}
UNREACHABLE: Texts = (
    "Three attempts, no answer; left a voicemail and an SMS with a direct number.",
    "Trei încercări, fără răspuns; am lăsat un mesaj vocal și un SMS cu numărul direct.",
    "Trzy próby, bez odpowiedzi; zostawiłem wiadomość głosową i SMS z numerem bezpośrednim.",
)
REOPEN_REASONS: tuple[Texts, ...] = (
    (
        "The customer called again: the fee was charged a second time.",
        "Clientul a sunat din nou: comisionul a fost perceput a doua oară.",
        "Klient zadzwonił ponownie: opłata została pobrana drugi raz.",
    ),
    (
        "The promised correction did not arrive; the customer wrote to complain.",
        "Corecția promisă nu a sosit; clientul a scris o reclamație.",
        "Obiecana korekta nie dotarła; klient złożył skargę.",
    ),
)
# Why a case that waited in the queue went to someone (written by the HQ analyst).
QUEUE_TO_ANALYST = (
    "No manager of this unit works cases in Sonda yet: the central CX team calls back."
)
QUEUE_TO_REGION = "The branch has no case owner in Sonda yet: the region head calls back."

# Coaching after an inner-loop case: (behaviour, agreed action) by the root cause found.
COACHING: dict[str, tuple[Texts, Texts]] = {
    "staff.attitude": (
        (
            "Did not greet the customer and answered curtly while busy with paperwork.",
            "Nu a salutat clientul și a răspuns scurt cât timp completa documente.",
            "Nie przywitał klienta i odpowiadał zdawkowo, zajęty dokumentami.",
        ),
        (
            (
                "Greet every customer and say how long it will take; shadow a senior colleague for"
                " two days."
            ),
            (
                "Salută fiecare client și spune cât va dura; două zile alături de un coleg cu "
                "experiență."
            ),
            ("Witać każdego klienta i mówić, ile to potrwa; dwa dni pracy z doświadczonym kolegą."),
        ),
    ),
    "staff.competence": (
        (
            ("Could not explain the conditions of the savings account and sent the customer away."),
            "Nu a putut explica condițiile contului de economii și a trimis clientul acasă.",
            "Nie potrafił wyjaśnić warunków konta oszczędnościowego i odesłał klienta.",
        ),
        (
            (
                "Repeat the savings products module and ask the branch manager before sending a "
                "customer away."
            ),
            (
                "Repetă modulul despre produsele de economisire și întreabă managerul înainte de a"
                " trimite un client acasă."
            ),
            (
                "Powtórzyć moduł o produktach oszczędnościowych i pytać kierownika, zanim odeśle "
                "klienta."
            ),
        ),
    ),
    "staff.information": (
        (
            "Told the customer a document was not needed; the application then stalled.",
            "I-a spus clientului că un document nu e necesar; cererea s-a blocat apoi.",
            "Powiedział klientowi, że dokument nie jest potrzebny; wniosek potem utknął.",
        ),
        (
            "Use the checklist for every application and confirm the list in writing.",
            "Folosește lista de verificare la fiecare cerere și confirmă lista în scris.",
            "Korzystać z listy kontrolnej przy każdym wniosku i potwierdzać ją na piśmie.",
        ),
    ),
}
