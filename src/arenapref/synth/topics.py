"""The 20 planted topics: each one's request templates, slot fillers and vocabulary.

Why it looks like this: the topic stage (TF-IDF or sentence embeddings + k-means) must be able to
recover the planted topics from English first prompts, so every topic owns a vocabulary that no other
topic uses, while the sentence frames around that vocabulary are shared (common words carry no topic
signal, as in real prompts). Requests are templates with three slots drawn from large pools, so prompts
vary instead of repeating.

Placeholders: a template slot ``{name}`` / ``{name2}`` is rendered as ``NAME_1`` / ``NAME_2`` in the
LMSYS-shaped data (as in the real release) and as a real first name in the competition CSVs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    """One planted topic: request templates with slots {a} {b} {c} (and {name}/{name2}), and its words."""

    name: str
    templates: tuple[str, ...]
    a: tuple[str, ...]
    b: tuple[str, ...]
    c: tuple[str, ...]
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjs: tuple[str, ...]
    code: bool = False


def _t(s: str) -> tuple[str, ...]:
    """Split a '|'-separated list, or a plain word list on whitespace (keeps the tables readable)."""
    if "|" not in s:
        return tuple(s.split())
    return tuple(x.strip() for x in s.split("|") if x.strip())


TOPICS: tuple[Topic, ...] = (
    Topic(
        "python coding",
        _t(
            "Write a Python function that {a} using {b}. | How do I {a} in Python with {b}? {c} | "
            "Fix this Python code, it should {a} but raises an exception: {c} | "
            "Explain how a Python script can {a} with {b}. | Give me a Python class that can {a}; use {b}. | "
            "Write a unit test with pytest for a function that {a}. {c} | "
            "What is the fastest way in Python to {a}? I am using {b}."
        ),
        _t(
            "reads a csv file into a dataframe | parses json from an api response | sorts a list of tuples "
            "by the second element | removes duplicates from a list while keeping order | downloads images "
            "from urls concurrently | counts word frequencies in a text file | merges two dictionaries "
            "recursively | validates an email address with a regex | flattens a nested list | converts a "
            "string to snake case | reverses a linked list | finds the longest palindrome substring | "
            "scrapes a table from a web page | resizes every image in a folder | sends an http post request "
            "with headers | caches the results of an expensive function | reads environment variables "
            "safely | splits a large file into chunks | computes a moving average over a numpy array | "
            "generates random passwords"
        ),
        _t(
            "pandas | numpy | the requests library | asyncio | a generator | list comprehensions | the "
            "collections module | itertools | a decorator | type hints | dataclasses | the pathlib module | "
            "a context manager | regular expressions | multiprocessing | functools lru_cache | beautifulsoup"
        ),
        _t(
            "The traceback says TypeError: 'NoneType' object is not iterable. | I get IndentationError on "
            "line 12. | It works for small inputs but is too slow for a million rows. | The output list is "
            "empty. | My interpreter is python3.11 on ubuntu. | I am a beginner, please add comments. | Keep "
            "the function under twenty lines. | It raises KeyError when the dict key is missing."
        ),
        _t(
            "function variable list dict tuple loop iterator generator exception traceback module import "
            "class method attribute argument parameter decorator interpreter script dataframe array string "
            "integer index recursion"
        ),
        _t("define call import iterate return raise refactor debug append parse serialize instantiate"),
        _t("pythonic recursive nested mutable immutable iterable callable asynchronous vectorized"),
        code=True,
    ),
    Topic(
        "sql and databases",
        _t(
            "Write an SQL query that {a} from the {b} table. | How can I {a} in PostgreSQL? The table is "
            "{b}. {c} | Optimize this SQL query that should {a}: {c} | Given the schema of the {b} table, "
            "write a query to {a}. | Explain the difference between a LEFT JOIN and an INNER JOIN when I "
            "{a}. | Create a MySQL stored procedure to {a} in {b}. {c}"
        ),
        _t(
            "selects the top five customers by revenue | counts orders per month | finds duplicate rows | "
            "joins orders with customers | computes a running total | deletes rows older than a year | "
            "groups sales by region | returns employees with salary above the department average | "
            "pivots monthly sales into columns | updates prices with a percentage increase | finds customers "
            "without any order | ranks products within each category | lists the second highest salary | "
            "aggregates invoices by quarter | filters rows with null values"
        ),
        _t(
            "orders | customers | employees | invoices | products | transactions | sales | inventory | "
            "departments | payments | shipments | accounts | suppliers | students | enrollments"
        ),
        _t(
            "The table has columns id, customer_id, amount and created_at. | Use a common table expression. "
            "| The query takes forty seconds on ten million rows. | I use SQLite. | Avoid subqueries if "
            "possible. | There is an index on customer_id. | Use window functions."
        ),
        _t(
            "query table column row schema index join subquery clause primary key foreign key database "
            "transaction view trigger cursor aggregate partition constraint postgresql mysql sqlite"
        ),
        _t("select insert update delete join group order index normalize aggregate partition"),
        _t("relational indexed normalized transactional aggregated distinct ascending descending nullable"),
        code=True,
    ),
    Topic(
        "math problems",
        _t(
            "Solve this equation step by step: {a}. | What is the derivative of {a}? {c} | Prove that {b}. | "
            "A train travels {a}. How long does the trip take? | Compute the integral of {a} from zero to "
            "one. | Explain why {b} using a simple example. | Find all real solutions of {a}. {c}"
        ),
        _t(
            "3x squared minus 5x plus 2 equals zero | x cubed plus 2x | the square root of x times the "
            "logarithm of x | 120 kilometers at 80 kilometers per hour | e to the power of 2x | sine of x "
            "over x | 2x plus 7 equals 19 | the fraction 3 over 8 plus 5 over 12 | 17 percent of 240 | "
            "the matrix with rows 1 2 and 3 4 | the series one over n squared | 450 miles at 60 miles per "
            "hour | the polynomial x to the fourth minus 1"
        ),
        _t(
            "the square root of 2 is irrational | there are infinitely many primes | the sum of the angles "
            "of a triangle is 180 degrees | every integer greater than one has a prime factorization | the "
            "harmonic series diverges | a continuous function on a closed interval is bounded | the "
            "determinant of a product equals the product of determinants"
        ),
        _t(
            "Show every step of the calculation. | I keep getting a negative number. | Use the quadratic "
            "formula. | Give the answer as a fraction. | This is for my algebra homework. | Round to two "
            "decimal places."
        ),
        _t(
            "equation derivative integral theorem proof fraction polynomial matrix vector probability "
            "percentage prime factorization logarithm exponent coefficient variable geometry triangle "
            "angle calculus algebra limit"
        ),
        _t("solve simplify differentiate integrate factor prove substitute multiply divide calculate"),
        _t("quadratic linear irrational rational integer divisible continuous convergent symmetric"),
    ),
    Topic(
        "creative writing",
        _t(
            "Write a short story about {a} in the style of {b}. | Write a poem about {a}. {c} | Compose a "
            "haiku about {a}. | Write a story for {name} about {a}, told in the style of {b}. | Write song "
            "lyrics about {a} with a chorus. | Write a poem for {name} about {a}. {c} | Continue this story: "
            "{a}, written like {b}."
        ),
        _t(
            "a lonely lighthouse keeper | a dragon who is afraid of fire | the first snowfall in a small "
            "village | a robot who learns to paint | two strangers on a night train | the ocean at dawn | a "
            "forgotten toy in an attic | a knight who lost his sword | autumn leaves falling in a park | a "
            "cat who rules a kingdom | the last tree on earth | a letter that arrives fifty years late | a "
            "ghost haunting a library | a girl who collects stars"
        ),
        _t(
            "Edgar Allan Poe | a fairy tale | Shakespeare | a noir detective novel | Dr. Seuss | Emily "
            "Dickinson | a Greek myth | Tolkien | a bedtime story | an epic ballad"
        ),
        _t(
            "It should rhyme. | Make it melancholic. | Keep it under 300 words. | Use vivid imagery. | The "
            "ending should be hopeful. | Write it in four stanzas."
        ),
        _t(
            "story poem stanza verse rhyme chapter protagonist villain narrator plot metaphor imagery "
            "lyrics ballad haiku tale fable legend kingdom castle moonlight whisper"
        ),
        _t("whisper wander dream gleam shimmer weep linger yearn enchant unfold"),
        _t("melancholic whimsical enchanted moonlit ancient forgotten haunting lyrical vivid"),
    ),
    Topic(
        "roleplay",
        _t(
            "Let's roleplay. You are {a} and I am {b}. {c} | Pretend you are {a}. Stay in character and "
            "greet me. | You are {a} talking to {name}. {c} | From now on act as {a}; I will play {b}. | "
            "Roleplay as {a} who meets {name} and {name2} in a tavern. | Stay in character as {a} and answer"
            " my questions as {b} would hear them."
        ),
        _t(
            "a grumpy medieval innkeeper | a space pirate captain | a wise old wizard | a shy vampire | an "
            "elf ranger | a cyberpunk hacker | a detective in 1920s Chicago | a ship's cook on a whaling "
            "vessel | a dungeon master | a sarcastic butler | a samurai warrior | an alien ambassador"
        ),
        _t(
            "a traveling bard | a lost adventurer | a curious apprentice | a bounty hunter | a royal guard | "
            "a time traveler | a young knight | a mysterious stranger"
        ),
        _t(
            "Describe your actions between asterisks. | Never break character. | Use a medieval accent. | "
            "Keep your replies short. | The scene starts at midnight. | Ask me what I want."
        ),
        _t(
            "character roleplay scene tavern quest adventurer dungeon guild wizard sword spell potion "
            "campfire innkeeper apprentice mercenary kingdom realm companion asterisks"
        ),
        _t("greet bow smirk grin draw cast sneak whisper roleplay pretend"),
        _t("grumpy sarcastic mysterious heroic sly loyal cunning brave wary"),
    ),
    Topic(
        "travel planning",
        _t(
            "Plan a {a} trip to {b}. {c} | What are the best things to do in {b} for {a}? | Create an "
            "itinerary for {a} in {b}. | Which neighborhoods in {b} are best for a hotel? {c} | Suggest a "
            "budget for {a} in {b}. | Is {b} worth visiting in winter? I have {a}."
        ),
        _t(
            "three day | one week | ten day | weekend | two week backpacking | honeymoon | family | solo | "
            "road trip | five day"
        ),
        _t(
            "Lisbon | Kyoto | Iceland | Barcelona | Vietnam | New York | Patagonia | Istanbul | Morocco | "
            "the Swiss Alps | Bali | Mexico City | Prague | Peru | Norway | Cape Town"
        ),
        _t(
            "We love museums and local food. | I have a tight budget. | We travel with two kids. | I do not "
            "want to rent a car. | Include day trips by train. | We arrive at the airport late at night."
        ),
        _t(
            "itinerary trip flight hotel hostel airport sightseeing museum beach hiking train passport "
            "visa luggage destination tourist landmark neighborhood excursion backpacking sightseeing"
        ),
        _t("visit explore book fly hike sightsee pack travel tour stay"),
        _t("scenic budget touristy walkable coastal picturesque affordable historic"),
    ),
    Topic(
        "cooking and recipes",
        _t(
            "Give me a recipe for {a} with {b}. | How do I cook {a} without {b}? {c} | What can I make for "
            "dinner with {b}? | Suggest a vegetarian version of {a}. {c} | How long should I bake {a}? | "
            "Write a shopping list for {a} and a side of {b}."
        ),
        _t(
            "lasagna | banana bread | chicken curry | sourdough bread | pad thai | chocolate chip cookies | "
            "beef stew | mushroom risotto | pancakes | tomato soup | paella | apple pie | fried rice | "
            "guacamole | ramen"
        ),
        _t(
            "eggs | butter | garlic | coconut milk | leftover rice | an air fryer | gluten free flour | "
            "fresh basil | cheddar cheese | a cast iron skillet | spinach | chickpeas"
        ),
        _t(
            "It is for four people. | I only have thirty minutes. | My oven runs hot. | Use metric units. | "
            "It should be kid friendly. | No nuts please."
        ),
        _t(
            "recipe ingredient oven skillet flour sugar butter garlic onion sauce dough tablespoon teaspoon "
            "simmer broth spices dinner dessert baking marinade seasoning"
        ),
        _t("bake simmer chop stir saute whisk knead marinate roast season"),
        _t("crispy creamy savory tender fluffy spicy delicious homemade golden"),
    ),
    Topic(
        "health and medicine",
        _t(
            "What are the symptoms of {a}? {c} | Is it safe to take {b} for {a}? | How can I treat {a} at "
            "home? | What causes {a} and when should I see a doctor? | I have {a}. Should I take {b}? {c} | "
            "Explain the side effects of {b}."
        ),
        _t(
            "migraine | high blood pressure | type 2 diabetes | insomnia | lower back pain | a sore throat | "
            "anxiety | iron deficiency | acid reflux | a sprained ankle | seasonal allergies | high "
            "cholesterol | a fever"
        ),
        _t(
            "ibuprofen | paracetamol | melatonin | metformin | antibiotics | vitamin D | omega 3 supplements "
            "| antihistamines | aspirin | magnesium"
        ),
        _t(
            "I am 45 years old. | The pain started three days ago. | I am pregnant. | I also take blood "
            "thinners. | It gets worse at night. | My doctor is on vacation."
        ),
        _t(
            "symptom doctor diagnosis treatment medication dosage patient blood pressure infection "
            "inflammation immune system vitamin chronic pain prescription clinic therapy disease nausea "
            "allergy cardiologist"
        ),
        _t("diagnose treat prescribe relieve consult monitor prevent inflame recover"),
        _t("chronic acute medical clinical dizzy nauseous inflamed contagious"),
    ),
    Topic(
        "business emails",
        _t(
            "Write an email to {name} about {a}. {c} | Draft a professional email to my manager {name} "
            "asking for {a}. | Write a polite email to a client about {a}. Keep it {b}. | Rewrite this "
            "email to sound more {b}: {a}. | Write a follow up email to {name} regarding {a}. | Write a "
            "cover letter for {a}. {c}"
        ),
        _t(
            "a delayed shipment | a salary raise | a meeting next Tuesday | the quarterly report | a "
            "project deadline extension | an unpaid invoice | a job offer | a partnership proposal | the "
            "budget approval | a product launch | a vacation request | a software engineer position | a "
            "marketing manager role"
        ),
        _t("formal | friendly | concise | persuasive | apologetic | confident | professional | warm"),
        _t(
            "Mention the attached contract. | Sign it as the sales team. | The tone should be respectful. | "
            "Add a clear call to action. | Keep it under 150 words."
        ),
        _t(
            "email manager client colleague invoice deadline meeting proposal contract attachment "
            "recipient subject line regards signature schedule stakeholder agenda memo cover letter"
        ),
        _t("schedule follow remind request confirm attach negotiate apologize propose"),
        _t("professional courteous formal concise polite urgent prompt respectful"),
    ),
    Topic(
        "translation",
        _t(
            'Translate the following sentence into {b}: {a} | How do you say "{a}" in {b}? | Translate '
            "to {b} and keep the formal tone: {a} | Translate this from {b} to English and explain the "
            'grammar: {a} | What is the correct {b} translation of "{a}"? {c}'
        ),
        _t(
            "the meeting has been moved to Friday afternoon | where is the nearest train station | I would "
            "like to order a coffee with milk | thank you for your patience and understanding | the weather "
            "will be sunny tomorrow | please close the window before you leave | my brother works as a nurse"
            " | we are looking forward to your visit | can you recommend a good restaurant | the package "
            "arrived damaged"
        ),
        _t(
            "French | German | Spanish | Japanese | Italian | Portuguese | Russian | Chinese | Korean | "
            "Dutch | Turkish | Arabic"
        ),
        _t(
            "Give the literal translation too. | Explain any idioms. | Use the informal you. | Add the "
            "pronunciation."
        ),
        _t(
            "translation sentence grammar vocabulary pronunciation idiom tense verb conjugation phrase "
            "dialect native speaker dictionary accent synonym word order"
        ),
        _t("translate conjugate pronounce phrase paraphrase interpret"),
        _t("literal idiomatic grammatical informal fluent colloquial"),
    ),
    Topic(
        "marketing and seo",
        _t(
            "Write a product description for {a} targeting {b}. {c} | Give me ten SEO keywords for {a}. | "
            "Write an Instagram caption for {a}. | Create a marketing slogan for {a} aimed at {b}. | Write "
            "a blog post outline about {a} optimized for SEO. {c} | Write ad copy for {a}."
        ),
        _t(
            "an organic skincare brand | a fitness tracking app | handmade leather wallets | a vegan "
            "protein powder | a coworking space | an online language course | wireless earbuds | a coffee "
            "subscription box | eco friendly water bottles | a local bakery | a real estate agency"
        ),
        _t(
            "young professionals | busy parents | college students | small business owners | athletes | "
            "retirees | gamers | travelers"
        ),
        _t(
            "Include a call to action. | Use emojis. | Maximum 60 characters. | Make it catchy. | Mention a "
            "limited time discount."
        ),
        _t(
            "brand slogan caption keyword seo audience campaign conversion engagement hashtag landing page "
            "customer product launch advertisement newsletter influencer ad copy funnel"
        ),
        _t("promote advertise engage convert optimize rank target boost launch"),
        _t("catchy engaging viral premium eco-friendly trendy compelling memorable"),
    ),
    Topic(
        "chemical industry",
        _t(
            "Write an article about the {a} of {b} in the chemical industry. | Give me an introduction of "
            "{b}, a chemical company in {c} | Write 2000 words about the {a} of {b} in the chemical "
            "industry. | What are the upstream and downstream products of {b}? | Explain the production "
            "process of {b}."
        ),
        _t(
            "safety | production process | applications | instruction | synthetic routes | upstream and "
            "downstream products"
        ),
        _t(
            "4-chloropyridine | ethyl acetate | 2-aminopyrimidine | titanium dioxide | sulfuric acid | "
            "polyethylene glycol | 3-bromothiophene | sodium hypochlorite | methyl methacrylate | "
            "5-fluorouracil | acetonitrile"
        ),
        _t(
            "Shanghai, China. | Gujarat, India. | Ludwigshafen, Germany. | Texas, United States. | Osaka, "
            "Japan."
        ),
        _t(
            "compound synthesis reagent catalyst solvent reactor yield purity manufacturer intermediate "
            "pharmaceutical derivative molecule toxicity polymer distillation feedstock chemical plant"
        ),
        _t("synthesize catalyze distill purify react oxidize manufacture refine"),
        _t("chemical organic toxic volatile industrial synthetic catalytic corrosive"),
    ),
    Topic(
        "finance and investing",
        _t(
            "Should I invest in {a} or {b}? {c} | Explain how {a} works for a beginner investor. | What "
            "are the risks of {a}? | How much should I save for {b} if I earn 4000 dollars a month? | "
            "Compare {a} and {b} for long term returns. | How are {a} taxed? {c}"
        ),
        _t(
            "index funds | dividend stocks | government bonds | real estate | cryptocurrency | gold | "
            "options trading | a roth ira | mutual funds | peer to peer lending | a high yield savings "
            "account"
        ),
        _t(
            "retirement | an emergency fund | a down payment on a house | my child's college | early "
            "retirement | a car loan"
        ),
        _t(
            "I am 30 years old. | I have 20000 dollars in savings. | I have moderate risk tolerance. | I "
            "live in Canada. | Inflation is high right now."
        ),
        _t(
            "investment portfolio stock bond dividend interest rate inflation mortgage loan savings "
            "retirement tax broker market volatility compound interest asset diversification equity"
        ),
        _t("invest diversify save borrow compound allocate withdraw hedge budget"),
        _t("volatile diversified taxable liquid profitable risky passive fiscal"),
    ),
    Topic(
        "history",
        _t(
            "What were the main causes of {a}? {c} | Summarize the history of {b}. | Who won {a} and why? "
            "| How did {a} change {b}? | Explain the role of {b} in {a}. | Write an essay about {a}. {c}"
        ),
        _t(
            "the French Revolution | the First World War | the fall of the Roman Empire | the Cold War | "
            "the Industrial Revolution | the American Civil War | the Renaissance | the Ming dynasty | the "
            "Napoleonic wars | the collapse of the Soviet Union | the Byzantine Empire"
        ),
        _t(
            "the Ottoman Empire | medieval Europe | the Mongol empire | ancient Egypt | colonial India | the "
            "Roman senate | the Habsburg monarchy | the Aztec empire"
        ),
        _t(
            "Mention the key dates. | Use primary sources if you can. | Keep it to five paragraphs. | "
            "Focus on economic factors."
        ),
        _t(
            "empire dynasty revolution war treaty monarchy emperor century battle civilization colony "
            "conquest republic senate historian archaeology king peasant aristocracy"
        ),
        _t("conquer rule overthrow colonize abolish unify reign invade"),
        _t("ancient medieval imperial colonial feudal historical revolutionary"),
    ),
    Topic(
        "ai and machine learning",
        _t(
            "Explain how {a} works in simple terms. {c} | What is the difference between {a} and {b}? | "
            "How do I train {a} on {b}? | What are the limitations of {a}? | Write a PyTorch example of "
            "{a}. | Why does {a} overfit on {b}? {c}"
        ),
        _t(
            "a transformer | gradient descent | a large language model | attention | reinforcement learning "
            "from human feedback | a convolutional neural network | backpropagation | a random forest | "
            "fine tuning | word embeddings | a variational autoencoder | dropout | tokenization"
        ),
        _t(
            "a small dataset | supervised learning | a recurrent network | unlabeled images | logistic "
            "regression | imbalanced classes | a GPU with 8 GB of memory"
        ),
        _t(
            "Use an analogy. | I know basic linear algebra. | Include the loss function. | My validation "
            "accuracy is stuck at 60 percent."
        ),
        _t(
            "neural network model training dataset gradient loss function layer neuron embedding attention "
            "parameter overfitting accuracy epoch batch optimizer inference tensor classifier"
        ),
        _t("train tokenize classify predict embed optimize regularize overfit finetune"),
        _t("neural supervised unsupervised generative pretrained stochastic differentiable"),
        code=True,
    ),
    Topic(
        "legal questions",
        _t(
            "Is it legal to {a} in {b}? {c} | What are my rights if {a}? | Can my landlord {a}? I live in "
            "{b}. | Draft a simple contract clause about {a}. | Explain the legal process when {a}. {c}"
        ),
        _t(
            "record a phone call without consent | terminate a lease early | break a non compete agreement "
            "| fire an employee without notice | keep a security deposit | copy song lyrics on a blog | "
            "sue a contractor for unfinished work | inherit property without a will | sublet an apartment"
        ),
        _t(
            "California | Germany | the United Kingdom | Ontario | Texas | Australia | France | New York "
            "state"
        ),
        _t(
            "I signed the lease in 2021. | There is no written contract. | I cannot afford a lawyer. | The "
            "clause mentions arbitration."
        ),
        _t(
            "lawyer contract clause lease tenant landlord court lawsuit liability attorney statute "
            "jurisdiction plaintiff defendant copyright agreement damages arbitration"
        ),
        _t("sue terminate enforce breach litigate comply waive indemnify"),
        _t("legal illegal binding enforceable contractual liable statutory"),
    ),
    Topic(
        "jokes and riddles",
        _t(
            "Tell me a joke about {a}. | Give me a riddle about {a} and its answer. | Tell me {b} "
            "jokes about {a}. {c} | Why did the {a} cross the road? Make up a funny answer. | "
            "Write a pun about {a}."
        ),
        _t(
            "cats | programmers | penguins | dad jokes | bananas | pirates | mathematicians | skeletons | "
            "coffee | ducks | aliens | dinosaurs | potatoes"
        ),
        _t("three | five | ten | two | some short | a few"),
        _t("Make them family friendly. | The dumber the better. | Explain the punchline."),
        _t("joke riddle pun punchline laugh humor comedian prank knock funny silly chuckle giggle"),
        _t("laugh joke tease chuckle giggle prank"),
        _t("funny hilarious silly goofy witty corny"),
    ),
    Topic(
        "sports and fitness",
        _t(
            "Create a {a} workout plan for {b}. {c} | How many calories do I burn with {a}? | What is the "
            "best way to improve my {b}? | Give me a weekly training schedule for {a}. | How do I avoid "
            "injuries when {a}? {c}"
        ),
        _t(
            "running a marathon | strength training | swimming | cycling | yoga | a home workout | "
            "bodybuilding | high intensity interval training | playing basketball | rock climbing"
        ),
        _t(
            "building muscle | losing weight | endurance | flexibility | a beginner | my vertical jump | "
            "my bench press"
        ),
        _t(
            "I can train four days a week. | I have knee problems. | I only have dumbbells. | I weigh 85 "
            "kilograms."
        ),
        _t(
            "workout exercise training muscle calories squat deadlift cardio stamina repetitions sets gym "
            "athlete coach marathon endurance protein warmup stretching treadmill"
        ),
        _t("lift stretch sprint jog squat train bench recover"),
        _t("athletic muscular aerobic anaerobic intense sore fit"),
    ),
    Topic(
        "relationships and advice",
        _t(
            "My {a} {b}. What should I do? {c} | How can I tell {name} that {b}? | I feel {a}. How do I "
            "talk to {name} about it? | Give me advice: my {a} {b}. | How do I apologize to {name} after "
            "{c}"
        ),
        _t(
            "girlfriend | boyfriend | best friend | roommate | husband | wife | mother in law | coworker | "
            "sister | teenage son"
        ),
        _t(
            "ignores my messages | forgot my birthday | wants to move to another city | keeps borrowing "
            "money | is jealous of my friends | never helps with chores | lied to me | wants to break up"
        ),
        _t(
            "we had a fight yesterday. | I do not want to hurt their feelings. | We have been together for "
            "three years. | I feel lonely and anxious."
        ),
        _t(
            "relationship partner friendship feelings trust communication argument breakup boundaries "
            "jealousy apology loneliness marriage dating conflict empathy"
        ),
        _t("apologize forgive communicate trust argue reconcile confide comfort"),
        _t("lonely jealous heartbroken anxious supportive hurtful honest"),
    ),
    Topic(
        "linux and devops",
        _t(
            "How do I {a} on Ubuntu? {c} | Write a bash script that {a}. | My {b} fails with permission "
            "denied when I {a}. | Write a Dockerfile for {b}. | Explain how to {a} with {b}. | Write a "
            "kubernetes deployment for {b}. {c}"
        ),
        _t(
            "mount a usb drive | set up a cron job | find large files | configure nginx as a reverse proxy | "
            "restart a systemd service | open a port in the firewall | copy files over ssh | check disk "
            "usage | add a user to sudoers | rotate log files | renew a tls certificate"
        ),
        _t(
            "docker container | ssh server | nginx config | systemd unit | kubernetes pod | postgres "
            "container | github actions workflow | terraform module | ansible playbook"
        ),
        _t(
            "I am on Ubuntu 22.04. | The container exits with code 137. | I do not have root access. | Use "
            "only bash builtins."
        ),
        _t(
            "terminal shell bash command directory permission sudo server docker container kubernetes "
            "cron systemd nginx firewall ssh kernel package repository deployment pipeline"
        ),
        _t("install mount deploy configure restart chmod grep pipe containerize provision"),
        _t("executable root remote headless persistent containerized verbose"),
        code=True,
    ),
)

# Follow-up user turns (turn 2+): they keep topic words via {n} (a topic noun), so
# multi-turn text stays on topic.
FOLLOW_UPS: tuple[str, ...] = (
    "Can you make it shorter?",
    "Thanks! Now explain the {n} part in more detail.",
    "What about the {n}?",
    "Give me another example with a different {n}.",
    "That is not what I asked. Focus on the {n}.",
    "continue",
    "Can you rewrite it in a more formal tone?",
    "Why is the {n} important here?",
    "Summarize that in three bullet points.",
    "ok and what if I change the {n}?",
    "Please add more details about the {a}.",
    "Great, now do the same for {a}.",
)

# Shared sentence frames: common words carry no topic signal; {n1} {n2} {v} {j} are topic words.
CONTEXT_FRAMES: tuple[str, ...] = (
    "The {n1} needs to {v} the {j} {n2}.",
    "I already tried to {v} the {n1} but the {n2} is still {j}.",
    "My {n1} has a {j} {n2} and I am not sure how to {v} it.",
    "Please consider the {n1} and the {n2}.",
    "Also, the {n2} should stay {j}.",
    "I read that you can {v} a {n1} with a {j} {n2}.",
    "Is a {j} {n1} better than a {n2}?",
    "Here is more context: the {n1} depends on the {n2}.",
    "I want to {v} the {n1} first and then the {n2}.",
    "What happens to the {n2} if the {n1} is {j}?",
    "Keep in mind that the {n1} is {j}.",
    "Mention the {n1}, the {n2} and how to {v} them.",
)

ANSWER_FRAMES: tuple[str, ...] = (
    "You can {v} the {n1} by using a {j} {n2}.",
    "It is important to {v} the {n1} before the {n2}.",
    "A {j} {n1} usually works better with the {n2}.",
    "First, {v} the {n1}; then check the {n2}.",
    "The {n2} affects how the {n1} behaves, so keep it {j}.",
    "In most cases the {n1} is {j}, but the {n2} can change that.",
    "Another option is to {v} the {n2} directly.",
    "Make sure the {n1} and the {n2} are consistent.",
    "This approach keeps the {n1} {j} and easy to {v}.",
    "If the {n2} is {j}, you may need to {v} the {n1} again.",
    "Many people {v} the {n1} too early, which makes the {n2} {j}.",
    "The key idea is that every {n1} has a {n2}.",
    "Finally, remember that a {j} {n2} helps you {v} the {n1}.",
    "To summarize, {v} the {n1} and watch the {n2}.",
)

CODE_LINES: tuple[str, ...] = (
    "def process(items):",
    "    result = []",
    "    for item in items:",
    "        if item is None:",
    "            continue",
    "        result.append(item)",
    "    return result",
    "SELECT customer_id, SUM(amount) AS total",
    "FROM orders",
    "GROUP BY customer_id",
    "ORDER BY total DESC;",
    "import numpy as np",
    "data = np.array(values)",
    "print(data.mean())",
    "sudo systemctl restart nginx",
    "docker build -t app .",
    "model.fit(x_train, y_train, epochs=10)",
    "with open(path) as f:",
    "    lines = f.read().splitlines()",
    "const total = items.reduce((a, b) => a + b, 0);",
)

HEADERS: tuple[str, ...] = ("Overview", "Steps", "Details", "Example", "Summary", "Key points", "Notes")

OPENERS: tuple[str, ...] = (
    "Sure! Here is what you asked for.",
    "Sure! \U0001f60a Here is my answer.",
    "Certainly.",
    "Great question!",
    "Here is a detailed answer.",
    "Of course, let me help.",
    "Sure, here you go:",
    "",
    "",
    "",
)

REFUSALS: tuple[str, ...] = (
    "I'm sorry, but I cannot help with that request.",
    "As an AI language model, I cannot provide that information.",
    "I apologize, but I am not able to assist with this.",
    "I'm sorry, I can't do that. It goes against my guidelines.",
)

APOLOGIES: tuple[str, ...] = (
    "I apologize for any confusion.",
    "Sorry for the misunderstanding.",
    "My apologies for the earlier mistake.",
)

ERROR_TEXTS: tuple[str, ...] = (
    "NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.",
    "**NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.**\n\n(error_code: 4)",
    "RATE LIMIT OF THIS MODEL IS REACHED. PLEASE COME BACK LATER OR USE BATTLE MODE (the 1st tab).",
    "YOUR INPUT VIOLATES OUR CONTENT MODERATION GUIDELINES. PLEASE FIX YOUR INPUT AND TRY AGAIN.",
    "(error_code: 50003, CUDA out of memory. Tried to allocate 2.00 GiB)",
)

FIRST_NAMES: tuple[str, ...] = (
    "Maria",
    "John",
    "Ahmed",
    "Sofia",
    "Wei",
    "Olga",
    "Carlos",
    "Emma",
    "Raj",
    "Yuki",
    "Anna",
    "David",
    "Fatima",
    "Lucas",
    "Elena",
    "Michael",
    "Sarah",
    "Ivan",
    "Laura",
    "Kenji",
    "Amara",
    "Thomas",
    "Priya",
)

# Other `<TYPE>_<k>` placeholder styles seen besides NAME_k (rendered in a minority of placeholder prompts).
OTHER_PLACEHOLDERS: tuple[str, ...] = ("ORGANIZATION_1", "LOCATION_1", "EMAIL_ADDRESS_1", "PHONE_NUMBER_1")

# Short user prefixes that carry a name placeholder into any topic ("My name is NAME_1.").
NAME_PREFIXES: tuple[str, ...] = ("My name is {name}.", "Hi, I am {name}.", "This is {name} again.")
