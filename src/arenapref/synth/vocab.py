# ruff: noqa: E501  (word lists in scripts whose width ruff miscounts)
"""Languages and models of the synthetic data: names, weights, words and answer styles.

Why: the profile must look like the paper's table (English about 77%, a long tail to 50+ languages, about
25 models with vicuna-13b near half), and a language detector must be able to tell non-English rows apart,
so every language writes with its own common words (or at least its own script).
Scripts of 3-byte characters (and a few others) carry 65+ words: with 15-30, every long text in them held
nearly the same few hundred byte 5-grams, and different prompts looked like near-duplicates to compare.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    """A language: its LMSYS-style name, relative weight, common words, and whether it writes spaces."""

    name: str
    weight: float
    words: tuple[str, ...]
    spaced: bool = True
    stop: str = "."


def _w(s: str) -> tuple[str, ...]:
    return tuple(s.split())


ENGLISH_WEIGHT = 0.77

# Non-English languages (weights are relative shares of the remaining 23%).
LANGUAGES: tuple[Language, ...] = (
    Language(
        "Portuguese",
        3.4,
        _w(
            "o a de que e do da em um para com não uma os no se na por mais as dos "
            "como mas ao ele das seu sua ou quando muito nos já eu também só pelo pela até isso ela entre "
            "depois sem mesmo aos seus quem nas me esse eles você essa num nem suas meu às minha numa pelos "
            "elas qual nós lhe deles essas esses pelas este dele tu te vocês vos lhes meus minhas teu tua "
            "fazer pode escrever texto explique exemplo obrigado"
        ),
    ),
    Language(
        "Russian",
        3.2,
        _w(
            "и в не на я что он с как а то все она так его но да ты к у же вы за бы по "
            "только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни "
            "быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть "
            "надо напиши текст пример объясни пожалуйста"
        ),
    ),
    Language(
        "Chinese",
        3.0,
        _w(
            "的 一 是 不 了 在 人 有 我 他 这 个 们 中 来 上 大 为 和 国 地 到 以 说 时 要 就 出 "
            "会 可 也 你 对 生 能 而 子 那 得 于 着 下 自 之 年 过 发 后 作 里 用 道 行 所 然 家 种 事 成 方 多 "
            "经 么 去 法 学 如 都 同 现 当 没 动 面 起 看 定 天 分 还 进 好 小 部 其 些 主 样 理 心 请 写 一个 "
            "问题 如何 什么 为什么 帮我"
        ),
        spaced=False,
        stop="。",
    ),
    Language(
        "Spanish",
        2.6,
        _w(
            "de la que el en y a los se del las un por con no una su para es al lo "
            "como más pero sus le ya o este sí porque esta entre cuando muy sin sobre también me hasta hay "
            "donde quien desde todo nos durante todos uno les ni contra otros ese eso ante ellos e esto mí "
            "antes algunos qué unos yo otro otras otra él tanto esa estos mucho quienes nada muchos cual "
            "escribe texto ejemplo explica gracias"
        ),
    ),
    Language(
        "German",
        2.0,
        _w(
            "der die und in den von zu das mit sich des auf für ist im dem nicht ein "
            "eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem "
            "über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei schreibe "
            "Beispiel erkläre bitte danke"
        ),
    ),
    Language(
        "French",
        1.6,
        _w(
            "de la le et les des en un du une que est pour qui dans a par plus pas au "
            "sur ne se ce il sont mais ou comme nous vous avec ces aux leur elle cette tout être fait on "
            "même bien peut entre sans aussi encore deux peu après écris texte exemple explique merci "
            "pourquoi comment"
        ),
    ),
    Language(
        "Italian",
        1.0,
        _w(
            "di e il la che a per in un è non del una da sono con le si gli al lo "
            "come ma della nel più anche alla se ci questo mi hanno ha essere quando tra dei delle su "
            "perché cosa ancora scrivi testo esempio spiega grazie"
        ),
    ),
    Language(
        "Japanese",
        1.0,
        _w(
            "の に は を た が で て と し れ さ ある いる も する から な こと として い "
            "や れる など なっ ない この ため その あっ よう また もの という あり まで られ なる へ か だ "
            "これ によって により おり より による ず なり られる において ば なかっ なく しかし について "
            "せ だっ その後 できる それ う ので なお のみ でき き つ における および いう さらに でも ら たり "
            "ください 教えて 書いて"
        ),
        spaced=False,
        stop="。",
    ),
    Language(
        "Korean",
        0.7,
        _w(
            "이 그 저 것 수 등 들 및 에서 그리고 하는 있는 없는 합니다 입니다 했다 "
            "있다 없다 그러나 하지만 우리 나는 너는 무엇 어떻게 왜 설명해 주세요 작성해 예시 감사합니다 "
            "사람 시간 문제 방법 생각"
        ),
    ),
    Language(
        "Polish",
        0.45,
        _w(
            "i w na z do się nie to że jest o jak po co tak za od ale przez jego tylko "
            "czy już może być jej są dla go ich jeszcze napisz tekst przykład proszę dziękuję"
        ),
    ),
    Language(
        "Dutch",
        0.4,
        _w(
            "de van een het en in is dat op te zijn met voor niet aan er om ook als "
            "dan maar bij nog uit worden door naar kan zo deze wat schrijf tekst voorbeeld leg uit alsjeblieft"
        ),
    ),
    Language(
        "Turkish",
        0.4,
        _w(
            "ve bir bu da de için ile çok ne daha gibi ama olarak sonra kadar var "
            "ben sen o biz siz onlar nasıl neden lütfen yaz metin örnek açıkla teşekkürler"
        ),
    ),
    Language(
        "Vietnamese",
        0.35,
        _w(
            "và của là có không được trong cho những một các với người này đã "
            "khi để như cũng từ thì sẽ hãy viết giải thích ví dụ cảm ơn tôi bạn"
        ),
    ),
    Language(
        "Indonesian",
        0.35,
        _w(
            "yang dan di itu dengan untuk tidak ini dari dalam akan pada juga saya "
            "ke karena tersebut bisa ada mereka lebih tulis teks contoh jelaskan terima kasih"
        ),
    ),
    Language(
        "Arabic",
        0.35,
        _w(
            "في من على إلى أن عن مع هذا التي الذي كان ما لا هذه كل بين قد ذلك بعد "
            "عند أو هو هي نحن أنا اكتب نص مثال اشرح شكرا لماذا كيف ماذا أين متى نعم يجب يمكن جدا جيد كبير صغير جديد بيت يوم وقت عمل الناس مدرسة حاسوب معلومات قصة قصيدة لغة العربية العالم مال طعام ماء مدينة صديق عائلة حب حياة أول اثنان ثلاثة جميع هنا هناك قل انظر أعرف أعطني اقرأ ساعدني فضلك باختصار قائمة كود سؤال جواب حول"
        ),
    ),
    Language(
        "Persian",
        0.25,
        _w(
            "و در به از که این را با است برای آن یک خود تا کرد بر هم نیز شده "
            "می من تو ما شما بنویس متن مثال توضیح بده ممنون چرا چگونه"
        ),
    ),
    Language(
        "Ukrainian",
        0.25,
        _w(
            "і в на що не з як до це та за він я ми ви вони але так її його бути "
            "можна напиши текст приклад поясни будь ласка дякую чому"
        ),
    ),
    Language(
        "Swedish",
        0.2,
        _w(
            "och i att det som en på är av för med till den har de inte om ett han men "
            "var jag sig från vi så kan skriv text exempel förklara tack varför"
        ),
    ),
    Language(
        "Czech",
        0.18,
        _w(
            "a v se na je že s z do o to jako ale i by k pro tak jsem jsou napiš text "
            "příklad vysvětli prosím děkuji proč jak"
        ),
    ),
    Language(
        "Greek",
        0.16,
        _w(
            "και το να η ο του την τα με που σε για από δεν είναι οι στο στην τον θα "
            "γράψε κείμενο παράδειγμα εξήγησε ευχαριστώ γιατί πώς τι πού πότε ποιος ναι όχι πρέπει μπορεί πολύ καλό μεγάλο μικρό νέο σπίτι μέρα χρόνος δουλειά άνθρωποι σχολείο υπολογιστής πληροφορίες ιστορία ποίημα γλώσσα ελληνικά κόσμος χρήματα φαγητό νερό πόλη φίλος οικογένεια αγάπη ζωή πρώτος δύο τρία όλα μετά εδώ εκεί πες δες ξέρω δώσε διάβασε βοήθεια παρακαλώ σύντομα λίστα κώδικας ερώτηση απάντηση"
        ),
    ),
    Language(
        "Hebrew",
        0.15,
        _w(
            "של את על לא זה הוא היא אני אתה עם כי גם כל מה אבל או אם כתוב טקסט דוגמה הסבר תודה למה איך מי מתי איפה כן צריך יכול מאוד טוב גדול קטן חדש בית יום זמן עבודה אנשים ספר מחשב מידע סיפור שיר שפה עברית עולם כסף אוכל מים עיר חבר משפחה אהבה חיים ראשון שניים שלושה אחרי כאן שם תגיד תראה יודע תן קרא עזרה בבקשה בקצרה רשימה קוד שאלה תשובה"
        ),
    ),
    Language(
        "Hindi",
        0.15,
        _w(
            "के है में की और से को का एक यह पर भी नहीं हैं कि था तो लिए कर मैं आप हम लिखो उदाहरण समझाओ धन्यवाद क्यों कैसे क्या कहाँ कब कौन हाँ चाहिए सकता बहुत अच्छा बड़ा छोटा नया घर दिन समय काम लोग स्कूल कंप्यूटर जानकारी कहानी कविता भाषा हिंदी दुनिया पैसा खाना पानी शहर दोस्त परिवार प्यार जीवन पहला दो तीन सब बाद यहाँ वहाँ बताओ देखो जानता पढ़ो मदद कृपया संक्षेप सूची कोड प्रश्न उत्तर बारे"
        ),
    ),
    Language(
        "Thai",
        0.12,
        _w(
            "ที่ และ ของ ใน เป็น มี ได้ ไม่ จะ การ ให้ ว่า กับ แล้ว คน นี้ ผม คุณ เขียน อธิบาย ตัวอย่าง ขอบคุณ ทำไม อย่างไร อะไร ที่ไหน เมื่อไร ใคร ใช่ ต้อง สามารถ มาก ดี ใหญ่ เล็ก ใหม่ บ้าน วัน เวลา งาน ประชาชน โรงเรียน คอมพิวเตอร์ ข้อมูล เรื่อง บทกวี ภาษา ไทย โลก เงิน อาหาร น้ำ เมือง เพื่อน ครอบครัว ความรัก ชีวิต แรก สอง สาม ทั้งหมด หลังจาก ที่นี่ ที่นั่น บอก ดู รู้ เอา อ่าน ช่วย กรุณา สั้นๆ รายการ โค้ด คำถาม คำตอบ เกี่ยวกับ"
        ),
        spaced=False,
        stop=" ",
    ),
    Language(
        "Romanian",
        0.12,
        _w(
            "și în de la cu pe un o că nu este care pentru mai din se sunt ce scrie "
            "text exemplu explică mulțumesc de ce cum"
        ),
    ),
    Language(
        "Hungarian",
        0.11,
        _w(
            "a az és hogy nem is egy meg de van ez csak már mint el ki volt írj "
            "szöveg példa magyarázd köszönöm miért hogyan"
        ),
    ),
    Language(
        "Finnish",
        0.1,
        _w(
            "ja on ei se että oli hän ovat mutta kun tai myös kuin niin mitä miten "
            "kirjoita teksti esimerkki selitä kiitos miksi"
        ),
    ),
    Language(
        "Danish",
        0.09,
        _w(
            "og i at det er en til på som de med han af for ikke der var mig sig "
            "skriv tekst eksempel forklar tak hvorfor hvordan"
        ),
    ),
    Language(
        "Norwegian",
        0.08,
        _w(
            "og i det er som på en til av at ikke med for har jeg vi kan skriv "
            "tekst eksempel forklar takk hvorfor hvordan"
        ),
    ),
    Language(
        "Bulgarian",
        0.08,
        _w(
            "и в на с за да от че се не това е са като по но той тя ние напиши "
            "текст пример обясни благодаря защо как какво къде кога кой трябва може много добре голям малък нов къща ден време работа хора училище компютър информация история стихотворение език български свят пари храна вода град приятел семейство любов живот първи две три всички след тук там кажи виж знам дай прочети помогни моля накратко списък код въпрос отговор"
        ),
    ),
    Language(
        "Serbian",
        0.07,
        _w(
            "и у на да је се за са не то од као али што ја ти он она напиши текст "
            "пример објасни хвала зашто како шта где када ко треба може веома добро велики мали нови кућа дан време посао људи школа рачунар информације прича песма језик српски свет новац храна вода град пријатељ породица љубав живот први два три све после овде тамо реци види знам дај читај помози молим укратко листа код питање одговор"
        ),
    ),
    Language(
        "Croatian",
        0.06,
        _w(
            "i u na da je se za s ne to od kao ali što ja ti on ona napiši tekst "
            "primjer objasni hvala zašto kako"
        ),
    ),
    Language(
        "Slovak",
        0.05,
        _w(
            "a v sa na je že s z do o to ako ale aj by k pre tak som sú napíš text "
            "príklad vysvetli prosím ďakujem prečo"
        ),
    ),
    Language(
        "Catalan",
        0.05,
        _w(
            "i de la el que a en els les per amb no una un és del al però més com "
            "escriu text exemple explica gràcies per què"
        ),
    ),
    Language(
        "Lithuanian",
        0.04,
        _w("ir į yra kad ne su tai bet kaip iš jis ji mes jūs parašyk tekstas pavyzdys paaiškink ačiū kodėl"),
    ),
    Language(
        "Latvian",
        0.04,
        _w(
            "un ir ka ar no uz par bet kā tas viņš viņa mēs jūs uzraksti teksts "
            "piemērs paskaidro paldies kāpēc"
        ),
    ),
    Language(
        "Estonian",
        0.035,
        _w("ja on ei et see oli ta nad aga kui või ka kui kirjuta tekst näide selgita aitäh miks kuidas"),
    ),
    Language(
        "Slovenian",
        0.035,
        _w(
            "in je v na da se za s ne to od kot ali kaj jaz ti on ona napiši "
            "besedilo primer razloži hvala zakaj"
        ),
    ),
    Language(
        "Malay",
        0.035,
        _w(
            "dan yang di untuk dengan tidak ini itu dari dalam akan pada juga saya "
            "anda kami tulis teks contoh terangkan terima kasih mengapa"
        ),
    ),
    Language(
        "Tagalog",
        0.03,
        _w(
            "ang ng sa na at mga ay si ni ko mo ako ikaw siya kami isulat teksto "
            "halimbawa ipaliwanag salamat bakit paano"
        ),
    ),
    Language(
        "Swahili",
        0.03,
        _w(
            "na ya wa kwa ni katika za la hii kuwa lakini mimi wewe yeye sisi "
            "andika maandishi mfano eleza asante kwa nini"
        ),
    ),
    Language(
        "Bengali",
        0.03,
        _w(
            "এবং এই একটি করে তার থেকে জন্য না হয় আমি তুমি আমরা লেখো উদাহরণ ব্যাখ্যা ধন্যবাদ কেন কিভাবে কি কোথায় কখন কে হ্যাঁ উচিত পারে খুব ভালো বড় ছোট নতুন বাড়ি দিন সময় কাজ মানুষ স্কুল কম্পিউটার তথ্য গল্প কবিতা ভাষা বাংলা পৃথিবী টাকা খাবার পানি শহর বন্ধু পরিবার ভালোবাসা জীবন প্রথম দুই তিন সব পরে এখানে সেখানে বলো দেখো জানি দাও পড়ো সাহায্য দয়া সংক্ষেপে তালিকা কোড প্রশ্ন উত্তর সম্পর্কে"
        ),
    ),
    Language(
        "Tamil",
        0.025,
        _w(
            "ஒரு மற்றும் இந்த அந்த என்று உள்ள நான் நீ அவர் நாம் எழுது உதாரணம் விளக்கு நன்றி ஏன் எப்படி வேண்டும் செய் பற்றி கேள்வி பதில் நல்ல பெரிய சிறிய புதிய வீடு நாள் நேரம் வேலை மக்கள் பள்ளி கணினி தகவல் கதை கவிதை மொழி தமிழ் உலகம் பணம் உணவு தண்ணீர் நகரம் நண்பன் குடும்பம் காதல் வாழ்க்கை முதல் இரண்டு மூன்று எல்லாம் இல்லை ஆம் பிறகு முன் இங்கே அங்கே சொல் பார் தெரியும் கொடு எடு படி உதவி தயவுசெய்து சுருக்கமாக பட்டியல் குறியீடு"
        ),
    ),
    Language(
        "Urdu",
        0.025,
        _w(
            "کے ہے میں کی اور سے کو کا ایک یہ پر بھی نہیں ہیں کہ میں آپ ہم لکھو مثال سمجھاؤ شکریہ کیوں کیا کہاں کب کون ہاں چاہیے سکتا بہت اچھا بڑا چھوٹا نیا گھر دن وقت کام لوگ اسکول کمپیوٹر معلومات کہانی نظم زبان اردو دنیا پیسہ کھانا پانی شہر دوست خاندان محبت زندگی پہلا دو تین سب بعد یہاں وہاں بتاؤ دیکھو جانتا پڑھو مدد براہ کرم مختصر فہرست کوڈ سوال جواب بارے"
        ),
    ),
    Language(
        "Latin",
        0.025,
        _w(
            "et in est non ad cum quod ut sed qui quae si esse enim sunt etiam "
            "autem atque ego tu nos scribe exemplum explica gratias quare"
        ),
    ),
    Language(
        "Esperanto",
        0.02,
        _w(
            "la kaj de en al estas ne mi vi li ŝi ni por kun sed kiel skribu "
            "tekston ekzemplon klarigu dankon kial"
        ),
    ),
    Language(
        "Afrikaans",
        0.02,
        _w(
            "die en van in is het nie om te wat ek jy hy ons vir met maar skryf "
            "teks voorbeeld verduidelik dankie hoekom"
        ),
    ),
    Language(
        "Icelandic",
        0.015,
        _w(
            "og að í á er sem um það ekki við ég þú hann hún við skrifaðu texta "
            "dæmi útskýrðu takk hvers vegna"
        ),
    ),
    Language(
        "Welsh",
        0.015,
        _w("a y yr i o yn ar mae ei ac ond fel rwy ti ni ysgrifennwch testun enghraifft eglurwch diolch pam"),
    ),
    Language(
        "Albanian",
        0.015,
        _w(
            "dhe në të e një për me që nga është nuk si por unë ti ai ajo ne "
            "shkruaj tekst shembull shpjego faleminderit pse"
        ),
    ),
    Language(
        "Armenian",
        0.012,
        _w(
            "և է որ այս մի են էր նա ես դու մենք գրիր տեքստ օրինակ բացատրիր շնորհակալություն ինչու ինչ որտեղ երբ ով այո ոչ պետք կարող շատ լավ մեծ փոքր նոր տուն օր ժամանակ աշխատանք մարդիկ դպրոց համակարգիչ տեղեկություն պատմություն բանաստեղծություն լեզու հայերեն աշխարհ փող ուտելիք ջուր քաղաք ընկեր ընտանիք սեր կյանք առաջին երկու երեք բոլոր հետո այստեղ այնտեղ ասա տես գիտեմ տուր կարդա օգնիր խնդրում համառոտ ցուցակ կոդ հարց պատասխան մասին"
        ),
    ),
    Language(
        "Georgian",
        0.012,
        _w(
            "და არის რომ ეს ერთი იყო მე შენ ის ჩვენ დაწერე ტექსტი მაგალითი ახსენი მადლობა რატომ როგორ რა სად როდის ვინ არა კი უნდა შეიძლება ძალიან კარგი დიდი პატარა ახალი სახლი დღე დრო სამუშაო ხალხი სკოლა კომპიუტერი ინფორმაცია ამბავი ლექსი ენა ქართული სამყარო ფული საჭმელი წყალი ქალაქი მეგობარი ოჯახი სიყვარული ცხოვრება პირველი ორი სამი ყველა შემდეგ აქ იქ თქვი ნახე ვიცი მომეცი წაიკითხე დამეხმარე გთხოვ მოკლედ სია კოდი კითხვა პასუხი შესახებ"
        ),
    ),
    Language(
        "Macedonian",
        0.01,
        _w(
            "и во на се да за од не тоа е со како но јас ти тој таа напиши текст "
            "пример објасни благодарам зошто што каде кога кој треба може многу добро голем мал нов куќа ден време работа луѓе училиште компјутер информации приказна песна јазик македонски свет пари храна вода град пријател семејство љубов живот прв два три сите потоа тука таму кажи види знам дај читај помогни молам накратко листа код прашање одговор"
        ),
    ),
    Language(
        "Belarusian",
        0.01,
        _w("і ў на што не з як да гэта ды за ён я мы вы але напішы тэкст прыклад растлумач дзякуй чаму"),
    ),
    Language(
        "Kazakh",
        0.01,
        _w(
            "және бұл мен сен ол біз сіз үшін жоқ бар деп жаз мәтін мысал түсіндір рахмет неге қалай не қайда қашан кім иә керек болады өте жақсы үлкен кішкентай жаңа үй күн уақыт жұмыс адамдар мектеп компьютер ақпарат әңгіме өлең тіл қазақ әлем ақша тамақ су қала дос отбасы махаббат өмір бірінші екі үш барлық кейін мұнда сонда айт қара білемін бер оқы көмектес өтінемін қысқаша тізім код сұрақ жауап туралы"
        ),
    ),
    Language(
        "Mongolian",
        0.008,
        _w(
            "ба энэ би чи тэр бид та юу яаж бич текст жишээ тайлбарла баярлалаа яагаад хаана хэзээ хэн тийм үгүй хэрэгтэй болно маш сайн том жижиг шинэ гэр өдөр цаг ажил хүмүүс сургууль компьютер мэдээлэл түүх шүлэг хэл монгол дэлхий мөнгө хоол ус хот найз бүл хайр амьдрал эхний хоёр гурав бүх дараа энд тэнд хар мэднэ өг унш тусла товчхон жагсаалт код асуулт хариулт тухай"
        ),
    ),
    Language(
        "Nepali",
        0.008,
        _w(
            "र को मा छ यो एक लागि पनि म तिमी हामी लेख उदाहरण बुझाउनुहोस् धन्यवाद किन कसरी के कहाँ कहिले हो पर्छ सक्छ धेरै राम्रो ठूलो सानो नयाँ घर दिन समय काम मानिस विद्यालय कम्प्युटर जानकारी कथा कविता भाषा नेपाली संसार पैसा खाना पानी शहर साथी परिवार माया जीवन पहिलो दुई तीन सबै पछि यहाँ त्यहाँ भन हेर थाहा देऊ पढ मद्दत कृपया छोटकरीमा सूची कोड प्रश्न उत्तर बारेमा"
        ),
    ),
    Language(
        "Galician",
        0.008,
        _w("e de a o que en un unha para con non os as do da escribe texto exemplo explica grazas por que"),
    ),
    Language(
        "Basque",
        0.006,
        _w(
            "eta da ez bat du dira baina ni zu gu idatzi testua adibidea azaldu eskerrik asko zergatik zer non noiz nor bai behar ahal oso ona handia txikia berria etxea eguna denbora lana jendea eskola ordenagailua informazioa istorioa olerkia hizkuntza euskara mundua dirua janaria ura hiria laguna familia maitasuna bizitza lehena bi hiru guztiak gero hemen han esan ikusi badakit eman irakurri lagundu mesedez laburki zerrenda kodea galdera erantzuna buruz"
        ),
    ),
    Language(
        "Irish",
        0.006,
        _w(
            "agus an na ar is i le go bhfuil sé sí mé tú scríobh téacs sampla "
            "mínigh go raibh maith agat cén fáth"
        ),
    ),
    Language(
        "Uzbek",
        0.006,
        _w("va bu bir men sen u biz siz uchun emas bor yoz matn misol tushuntir rahmat nega qanday"),
    ),
    Language(
        "Scots",
        0.005,
        _w("the an o tae is it that wi fir no aye ken wee bairn kirk dinnae cannae gie yer hoose"),
    ),
)


@dataclass(frozen=True, slots=True)
class ModelStyle:
    """How a model answers: its share, hidden strength, length scale and habits (probabilities)."""

    name: str
    weight: float
    strength: float
    length: float
    markdown: float
    refusal: float


# LMSYS-Chat-1M's 25 models with a mix close to the paper's figure (vicuna-13b about half).
LMSYS_MODELS: tuple[ModelStyle, ...] = (
    ModelStyle("vicuna-13b", 490.0, 0.1, 1.0, 0.25, 0.02),
    ModelStyle("koala-13b", 63.0, -0.2, 0.8, 0.1, 0.03),
    ModelStyle("alpaca-13b", 50.0, -0.4, 0.45, 0.05, 0.01),
    ModelStyle("chatglm-6b", 46.0, -0.3, 0.8, 0.15, 0.02),
    ModelStyle("llama-2-13b-chat", 39.0, 0.1, 1.3, 0.35, 0.12),
    ModelStyle("vicuna-33b", 35.0, 0.25, 1.1, 0.35, 0.02),
    ModelStyle("oasst-pythia-12b", 32.0, -0.35, 0.7, 0.1, 0.02),
    ModelStyle("RWKV-4-Raven-14B", 31.0, -0.35, 0.7, 0.1, 0.01),
    ModelStyle("fastchat-t5-3b", 25.0, -0.5, 0.5, 0.05, 0.01),
    ModelStyle("dolly-v2-12b", 24.0, -0.55, 0.6, 0.05, 0.01),
    ModelStyle("gpt-3.5-turbo", 22.0, 0.45, 1.15, 0.45, 0.05),
    ModelStyle("palm-2", 19.0, 0.0, 0.9, 0.3, 0.08),
    ModelStyle("claude-1", 18.0, 0.45, 1.2, 0.45, 0.06),
    ModelStyle("mpt-7b-chat", 18.0, -0.3, 0.7, 0.1, 0.02),
    ModelStyle("claude-instant-1", 16.0, 0.35, 1.1, 0.4, 0.06),
    ModelStyle("gpt-4", 14.0, 0.7, 1.3, 0.55, 0.04),
    ModelStyle("vicuna-7b", 13.0, -0.1, 0.9, 0.2, 0.02),
    ModelStyle("stablelm-tuned-alpha-7b", 12.0, -0.6, 0.6, 0.05, 0.02),
    ModelStyle("wizardlm-13b", 11.0, 0.1, 1.1, 0.35, 0.02),
    ModelStyle("guanaco-33b", 10.0, 0.05, 1.0, 0.25, 0.02),
    ModelStyle("llama-2-7b-chat", 8.0, -0.05, 1.2, 0.3, 0.15),
    ModelStyle("gpt4all-13b-snoozy", 7.0, -0.2, 0.8, 0.1, 0.02),
    ModelStyle("mpt-30b-chat", 5.0, 0.05, 1.0, 0.3, 0.02),
    ModelStyle("claude-2", 5.0, 0.55, 1.3, 0.5, 0.05),
    ModelStyle("llama-13b", 3.0, -0.6, 0.6, 0.02, 0.01),
)

# Competition-era models (the 2024 Kaggle file has a different, flatter model mix).
COMPETITION_MODELS: tuple[ModelStyle, ...] = (
    ModelStyle("gpt-4-1106-preview", 8.0, 0.7, 1.4, 0.75, 0.03),
    ModelStyle("gpt-4-0613", 5.0, 0.55, 1.0, 0.5, 0.04),
    ModelStyle("gpt-4-0314", 4.0, 0.55, 1.1, 0.5, 0.04),
    ModelStyle("gpt-3.5-turbo-0613", 7.0, 0.2, 1.0, 0.45, 0.05),
    ModelStyle("gpt-3.5-turbo-0125", 3.0, 0.15, 0.9, 0.45, 0.05),
    ModelStyle("claude-2.1", 5.0, 0.15, 1.0, 0.4, 0.15),
    ModelStyle("claude-2.0", 3.0, 0.25, 1.1, 0.4, 0.1),
    ModelStyle("claude-1", 4.0, 0.3, 1.0, 0.35, 0.06),
    ModelStyle("claude-instant-1", 4.0, 0.2, 0.9, 0.35, 0.06),
    ModelStyle("mixtral-8x7b-instruct-v0.1", 4.0, 0.3, 1.2, 0.6, 0.02),
    ModelStyle("mistral-medium", 3.0, 0.4, 1.2, 0.6, 0.02),
    ModelStyle("llama-2-70b-chat", 5.0, 0.15, 1.3, 0.5, 0.12),
    ModelStyle("llama-2-13b-chat", 3.0, 0.0, 1.2, 0.45, 0.15),
    ModelStyle("vicuna-33b", 4.0, 0.05, 1.0, 0.4, 0.02),
    ModelStyle("vicuna-13b", 4.0, -0.1, 0.9, 0.3, 0.02),
    ModelStyle("zephyr-7b-beta", 2.5, -0.05, 1.1, 0.55, 0.02),
    ModelStyle("wizardlm-70b", 2.5, 0.15, 1.2, 0.5, 0.02),
    ModelStyle("palm-2", 2.5, -0.25, 0.6, 0.25, 0.1),
    ModelStyle("gemini-pro", 2.0, 0.3, 1.1, 0.6, 0.05),
    ModelStyle("koala-13b", 2.0, -0.35, 0.7, 0.1, 0.03),
    ModelStyle("alpaca-13b", 1.5, -0.55, 0.4, 0.05, 0.01),
    ModelStyle("oasst-pythia-12b", 2.0, -0.5, 0.7, 0.1, 0.02),
    ModelStyle("chatglm-6b", 1.5, -0.5, 0.8, 0.15, 0.02),
    ModelStyle("fastchat-t5-3b", 1.5, -0.6, 0.5, 0.05, 0.01),
    ModelStyle("RWKV-4-Raven-14B", 1.5, -0.5, 0.7, 0.1, 0.01),
    ModelStyle("dolly-v2-12b", 1.5, -0.7, 0.6, 0.05, 0.01),
    ModelStyle("stablelm-tuned-alpha-7b", 1.2, -0.75, 0.6, 0.05, 0.02),
    ModelStyle("qwen-14b-chat", 1.5, 0.0, 1.0, 0.45, 0.03),
    ModelStyle("openchat-3.5", 2.0, 0.15, 1.0, 0.5, 0.02),
    ModelStyle("yi-34b-chat", 1.5, 0.2, 1.2, 0.55, 0.03),
)
