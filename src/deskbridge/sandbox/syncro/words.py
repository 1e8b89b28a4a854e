"""Word lists the generated Syncro data is drawn from (made up, realistic in shape)."""

from __future__ import annotations

__all__ = [
    "AV_PRODUCTS",
    "BUSINESS_SUFFIXES",
    "BUSINESS_WORDS",
    "CITIES",
    "CPUS",
    "FIRST_NAMES",
    "JUNK_SERIALS",
    "LAST_NAMES",
    "MACHINES",
    "NETWORK_DEVICES",
    "OS_NAMES",
    "PHONES",
    "PRINTERS",
    "SERVERS",
    "STREETS",
]

FIRST_NAMES = (
    "Alice", "Amir", "Ana", "Ben", "Carla", "Carrie", "Chen", "Dana", "David", "Elena", "Emeka", "Farah", "Gabriel",
    "Grace", "Hana", "Ivan", "Jack", "Jasmine", "Jonas", "Kai", "Karen", "Leila", "Liam", "Lucia", "Marco", "Maria",
    "Mateo", "Mei", "Nadia", "Noah", "Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sam", "Sofia", "Tariq",
    "Tom", "Uma", "Victor", "Wendy", "Xavier", "Yara", "Yusuf", "Zoe", "José", "Zoë", "Björn",
)  # fmt: skip

LAST_NAMES = (
    "Anderson", "Baker", "Brown", "Castillo", "Chen", "Clarke", "Davies", "Dubois", "Evans", "Fischer", "García",
    "Green", "Hall", "Hughes", "Ibrahim", "Jensen", "Johnson", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Mensah",
    "Miller", "Moore", "Nguyen", "O'Brien", "Okafor", "Patel", "Perez", "Quinn", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Smith", "Taylor", "Thickle", "Thomas", "Van der Berg", "Walker", "White", "Wilson", "Wright",
    "Young", "Zhang", "Müller", "Østergaard", "MacDonald",
)  # fmt: skip

BUSINESS_WORDS = (
    "Acme", "Alpine", "Apex", "Atlas", "Beacon", "Birch", "Blue River", "Bright", "Canyon", "Cedar", "Harbor",
    "Cornerstone", "Crescent", "Delta", "Eagle", "Evergreen", "Falcon", "Frontier", "Golden", "Granite", "Horizon",
    "Ironwood", "Juniper", "Keystone", "Lakeside", "Liberty", "Maple", "Meridian", "Northgate", "Oak", "Pacific",
    "Pinnacle", "Prairie", "Redwood", "Riverside", "Sage", "Silverline", "Summit", "Sunrise", "Timber", "Trinity",
    "Valley", "Vertex", "Willow", "Zenith", "Calgary", "Edmonton", "Red Deer", "Lethbridge", "Banff",
)  # fmt: skip

BUSINESS_SUFFIXES = (
    "Dental", "Law Group", "Accounting", "Veterinary Clinic", "Construction", "Realty", "Insurance", "Medical Centre",
    "Brewing Co.", "Auto Repair", "Logistics", "Consulting", "Family Practice", "Architects", "Engineering",
    "Pharmacy", "Holdings Ltd.", "Inc.", "LLC", "& Sons", "Partners", "Foods", "School", "Church", "Credit Union",
)  # fmt: skip

CITIES = (
    ("Calgary", "AB", "T2P"), ("Edmonton", "AB", "T5J"), ("Red Deer", "AB", "T4N"), ("Vancouver", "BC", "V6B"),
    ("Denver", "CO", "80202"), ("Boulder", "CO", "80302"), ("Salt Lake City", "UT", "84101"), ("Boise", "ID", "83702"),
    ("Phoenix", "AZ", "85004"), ("Albuquerque", "NM", "87102"), ("Austin", "TX", "78701"), ("Omaha", "NE", "68102"),
)  # fmt: skip

STREETS = (
    "Main St", "1st Ave SW", "Macleod Trail SE", "Broadway", "Elm St", "Centre St N", "Jasper Ave", "Colfax Ave",
    "Larimer St", "17th Ave SW", "Kensington Rd NW", "Country Hills Blvd", "Oak Dr", "Industrial Way",
)  # fmt: skip

# (manufacturer, models, serial style, form factor)
MACHINES = (
    ("Dell Inc.", ("OptiPlex 7080", "OptiPlex 3070", "Latitude 5420", "Latitude 7490", "Precision 3660"), "dell"),
    ("HP", ("HP EliteDesk 800 G5 SFF", "HP ProBook 450 G8", "HP EliteBook 840 G7", "HP ProDesk 400 G6"), "hp"),
    ("Hewlett-Packard", ("HP RP5 Retail System Model 5810", "HP Compaq Elite 8300 SFF"), "hp"),
    ("LENOVO", ("20T1S0RW00", "11DT0044US", "20XW005JUS", "ThinkCentre M720q"), "lenovo"),
    ("Microsoft Corporation", ("Surface Pro 7", "Surface Laptop 4"), "ms"),
    ("VMware, Inc.", ("VMware Virtual Platform", "VMware7,1"), "vmware"),
    ("System manufacturer", ("System Product Name",), "junk"),
)  # fmt: skip

CPUS = (
    "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz", "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz",
    "Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", "Intel(R) Pentium(R) CPU G3420 @ 3.20GHz",
    "AMD Ryzen 5 PRO 4650G with Radeon Graphics", "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz",
    "Intel(R) Core(TM) i7-12700 CPU", "AMD Ryzen 7 PRO 5850U with Radeon Graphics",
)  # fmt: skip

OS_NAMES = (
    ("Microsoft Windows 10 Pro", "19045.4291", "22H2"), ("Microsoft Windows 11 Pro", "22631.3447", "23H2"),
    ("Microsoft Windows 10 Enterprise 2016 LTSB", "14393.6796", "1607"), ("Microsoft Windows 11 Business", "22621.3447",
    "22H2"), ("Microsoft Windows Server 2019 Standard", "17763.5696", "1809"),
    ("Microsoft Windows Server 2022 Standard", "20348.2402", "21H2"), ("macOS 14.4.1", "23E224", ""),
)  # fmt: skip

AV_PRODUCTS = ("Windows Defender", "Syncro Managed Bitdefender", "Emsisoft Anti-Malware", "SentinelOne")

PRINTERS = (
    ("HP", "HP LaserJet Pro M404n"), ("Brother", "Brother HL-L2350DW"), ("Canon", "Canon imageRUNNER C3226i"),
    ("Xerox", "Xerox VersaLink C405"), ("Kyocera", "Kyocera ECOSYS M2540dw"), ("Zebra", "Zebra ZD421"),
)  # fmt: skip

NETWORK_DEVICES = (
    ("Cisco Meraki", "MX64"), ("Cisco Meraki", "MR36"), ("Ubiquiti", "UniFi Dream Machine Pro"),
    ("Fortinet", "FortiGate 60F"), ("SonicWall", "TZ370"), ("Netgear", "GS308E"), ("Ubiquiti", "USW-24-PoE"),
)  # fmt: skip

PHONES = (("Apple", "iPhone 13"), ("Apple", "iPhone 15 Pro"), ("Samsung", "Galaxy S23"), ("Google", "Pixel 8"))

SERVERS = (
    ("Dell Inc.", "PowerEdge R740"), ("Dell Inc.", "PowerEdge T340"), ("HPE", "ProLiant DL380 Gen10"),
    ("Synology", "DS920+"), ("Lenovo", "ThinkSystem SR650"),
)  # fmt: skip

JUNK_SERIALS = ("To be filled by O.E.M.", "None", "Default string", "0", "System Serial Number")
