/**
 * ISO 3166-1 alpha-2 codes and the country names Salesforce uses for its standard State & Country
 * picklists (ISO short names, e.g. "Korea, Republic of"). Attio stores `country_code`; Salesforce's
 * free-text BillingCountry/MailingCountry holds whatever people typed, so the reverse lookup accepts
 * codes, these names and common aliases.
 */
const TABLE = `AD|Andorra
AE|United Arab Emirates
AF|Afghanistan
AG|Antigua and Barbuda
AI|Anguilla
AL|Albania
AM|Armenia
AO|Angola
AQ|Antarctica
AR|Argentina
AS|American Samoa
AT|Austria
AU|Australia
AW|Aruba
AX|Aland Islands
AZ|Azerbaijan
BA|Bosnia and Herzegovina
BB|Barbados
BD|Bangladesh
BE|Belgium
BF|Burkina Faso
BG|Bulgaria
BH|Bahrain
BI|Burundi
BJ|Benin
BL|Saint Barthélemy
BM|Bermuda
BN|Brunei Darussalam
BO|Bolivia, Plurinational State of
BQ|Bonaire, Sint Eustatius and Saba
BR|Brazil
BS|Bahamas
BT|Bhutan
BV|Bouvet Island
BW|Botswana
BY|Belarus
BZ|Belize
CA|Canada
CC|Cocos (Keeling) Islands
CD|Congo, the Democratic Republic of the
CF|Central African Republic
CG|Congo
CH|Switzerland
CI|Cote d'Ivoire
CK|Cook Islands
CL|Chile
CM|Cameroon
CN|China
CO|Colombia
CR|Costa Rica
CU|Cuba
CV|Cape Verde
CW|Curaçao
CX|Christmas Island
CY|Cyprus
CZ|Czechia
DE|Germany
DJ|Djibouti
DK|Denmark
DM|Dominica
DO|Dominican Republic
DZ|Algeria
EC|Ecuador
EE|Estonia
EG|Egypt
EH|Western Sahara
ER|Eritrea
ES|Spain
ET|Ethiopia
FI|Finland
FJ|Fiji
FK|Falkland Islands (Malvinas)
FM|Micronesia, Federated States of
FO|Faroe Islands
FR|France
GA|Gabon
GB|United Kingdom
GD|Grenada
GE|Georgia
GF|French Guiana
GG|Guernsey
GH|Ghana
GI|Gibraltar
GL|Greenland
GM|Gambia
GN|Guinea
GP|Guadeloupe
GQ|Equatorial Guinea
GR|Greece
GS|South Georgia and the South Sandwich Islands
GT|Guatemala
GU|Guam
GW|Guinea-Bissau
GY|Guyana
HK|Hong Kong
HM|Heard Island and McDonald Islands
HN|Honduras
HR|Croatia
HT|Haiti
HU|Hungary
ID|Indonesia
IE|Ireland
IL|Israel
IM|Isle of Man
IN|India
IO|British Indian Ocean Territory
IQ|Iraq
IR|Iran, Islamic Republic of
IS|Iceland
IT|Italy
JE|Jersey
JM|Jamaica
JO|Jordan
JP|Japan
KE|Kenya
KG|Kyrgyzstan
KH|Cambodia
KI|Kiribati
KM|Comoros
KN|Saint Kitts and Nevis
KP|Korea, Democratic People's Republic of
KR|Korea, Republic of
KW|Kuwait
KY|Cayman Islands
KZ|Kazakhstan
LA|Lao People's Democratic Republic
LB|Lebanon
LC|Saint Lucia
LI|Liechtenstein
LK|Sri Lanka
LR|Liberia
LS|Lesotho
LT|Lithuania
LU|Luxembourg
LV|Latvia
LY|Libya
MA|Morocco
MC|Monaco
MD|Moldova, Republic of
ME|Montenegro
MF|Saint Martin (French part)
MG|Madagascar
MH|Marshall Islands
MK|North Macedonia
ML|Mali
MM|Myanmar
MN|Mongolia
MO|Macao
MP|Northern Mariana Islands
MQ|Martinique
MR|Mauritania
MS|Montserrat
MT|Malta
MU|Mauritius
MV|Maldives
MW|Malawi
MX|Mexico
MY|Malaysia
MZ|Mozambique
NA|Namibia
NC|New Caledonia
NE|Niger
NF|Norfolk Island
NG|Nigeria
NI|Nicaragua
NL|Netherlands
NO|Norway
NP|Nepal
NR|Nauru
NU|Niue
NZ|New Zealand
OM|Oman
PA|Panama
PE|Peru
PF|French Polynesia
PG|Papua New Guinea
PH|Philippines
PK|Pakistan
PL|Poland
PM|Saint Pierre and Miquelon
PN|Pitcairn
PR|Puerto Rico
PS|Palestine
PT|Portugal
PW|Palau
PY|Paraguay
QA|Qatar
RE|Reunion
RO|Romania
RS|Serbia
RU|Russian Federation
RW|Rwanda
SA|Saudi Arabia
SB|Solomon Islands
SC|Seychelles
SD|Sudan
SE|Sweden
SG|Singapore
SH|Saint Helena, Ascension and Tristan da Cunha
SI|Slovenia
SJ|Svalbard and Jan Mayen
SK|Slovakia
SL|Sierra Leone
SM|San Marino
SN|Senegal
SO|Somalia
SR|Suriname
SS|South Sudan
ST|Sao Tome and Principe
SV|El Salvador
SX|Sint Maarten (Dutch part)
SY|Syrian Arab Republic
SZ|Eswatini
TC|Turks and Caicos Islands
TD|Chad
TF|French Southern Territories
TG|Togo
TH|Thailand
TJ|Tajikistan
TK|Tokelau
TL|Timor-Leste
TM|Turkmenistan
TN|Tunisia
TO|Tonga
TR|Türkiye
TT|Trinidad and Tobago
TV|Tuvalu
TW|Taiwan
TZ|Tanzania, United Republic of
UA|Ukraine
UG|Uganda
UM|United States Minor Outlying Islands
US|United States
UY|Uruguay
UZ|Uzbekistan
VA|Holy See (Vatican City State)
VC|Saint Vincent and the Grenadines
VE|Venezuela, Bolivarian Republic of
VG|Virgin Islands, British
VI|Virgin Islands, U.S.
VN|Viet Nam
VU|Vanuatu
WF|Wallis and Futuna
WS|Samoa
YE|Yemen
YT|Mayotte
ZA|South Africa
ZM|Zambia
ZW|Zimbabwe`;

/** Names people commonly type that are not the ISO short name. */
const ALIASES: Record<string, string> = {
  usa: "US",
  "united states of america": "US",
  america: "US",
  uk: "GB",
  "great britain": "GB",
  britain: "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  "northern ireland": "GB",
  "south korea": "KR",
  korea: "KR",
  "north korea": "KP",
  russia: "RU",
  vietnam: "VN",
  iran: "IR",
  syria: "SY",
  laos: "LA",
  bolivia: "BO",
  venezuela: "VE",
  tanzania: "TZ",
  moldova: "MD",
  macedonia: "MK",
  "czech republic": "CZ",
  "ivory coast": "CI",
  "cape verde": "CV",
  "cabo verde": "CV",
  turkey: "TR",
  holland: "NL",
  "the netherlands": "NL",
  brunei: "BN",
  micronesia: "FM",
  "vatican city": "VA",
  vatican: "VA",
  swaziland: "SZ",
  burma: "MM",
  "east timor": "TL",
  uae: "AE",
  "democratic republic of the congo": "CD",
  drc: "CD",
  "republic of the congo": "CG",
  "hong kong sar": "HK",
  macau: "MO",
  "palestinian territory": "PS",
};

/** Lowercase, accents removed, punctuation to single spaces: "Côte d'Ivoire" -> "cote d ivoire". */
export function normalizeCountryKey(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

const NAME_BY_CODE = new Map<string, string>();
const CODE_BY_KEY = new Map<string, string>();
const CODE_BY_NAME = new Map<string, string>();
for (const line of TABLE.split("\n")) {
  const [code, name] = line.split("|") as [string, string];
  NAME_BY_CODE.set(code, name);
  CODE_BY_NAME.set(name, code);
  CODE_BY_KEY.set(normalizeCountryKey(name), code);
}
for (const [alias, code] of Object.entries(ALIASES)) CODE_BY_KEY.set(normalizeCountryKey(alias), code);

/** Every ISO code in the table. */
export const COUNTRY_CODES: readonly string[] = [...NAME_BY_CODE.keys()];

/** "US" -> "United States"; unknown codes give null. */
export function countryName(code: string): string | null {
  return NAME_BY_CODE.get(code.trim().toUpperCase()) ?? null;
}

/** A code ("us"), an ISO name ("Korea, Republic of") or an alias ("South Korea") -> ISO code, else null. */
export function countryCode(text: string): string | null {
  const trimmed = text.trim();
  if (/^[A-Za-z]{2}$/.test(trimmed)) {
    const upper = trimmed.toUpperCase();
    if (NAME_BY_CODE.has(upper)) return upper;
  }
  // Exact names are the common case; normalising (NFD + regexes) is the slow path.
  return CODE_BY_NAME.get(trimmed) ?? CODE_BY_KEY.get(normalizeCountryKey(trimmed)) ?? null;
}
