"""ISO 4217 currency codes in current use, with their minor units: data the package owns.

Source: ISO 4217 "List One: Currency, fund and precious metal codes", as published by the
ISO 4217 maintenance agency, dated 2026-01-01 (its "Pblshd" date). The
specification (section 1) takes currency codes and minor units from this list, not from
locale data: CLDR's *display* digits differ from the minor unit for some currencies (HUF,
IDR, COP, IQD, ...), and its code list holds offshore, withdrawn and testing codes.

Kept: every code of List One with a numeric minor unit. Left out (so they are unknown
currency codes): codes the list gives no minor unit (N.A.) - the precious metals, bond
market units, SDR, Sucre, ADB unit of account, and the testing and no-currency codes XTS
and XXX - since an amount of them cannot be rounded to a minor unit. Codes not on List
One at all - an offshore code such as CNH, a withdrawn code such as DEM, FRF or ITL -
are unknown too.

Updating: replace the table with the codes and minor units of a newer List One, and the
date in :data:`PUBLISHED`; docs/limits.md names the list's date too.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MINOR_UNITS", "NO_MINOR_UNIT", "PUBLISHED", "SOURCE"]

#: Where the table comes from.
SOURCE: Final = "ISO 4217 List One (currency, fund and precious metal codes)"
#: The publication date of the list the table reproduces.
PUBLISHED: Final = "2026-01-01"

#: Active ISO 4217 code -> minor unit (decimal places), in code order. The comment gives
#: the numeric code and the currency's name as List One spells them.
MINOR_UNITS: Final[dict[str, int]] = {
    "AED": 2,  # 784 UAE Dirham
    "AFN": 2,  # 971 Afghani
    "ALL": 2,  # 008 Lek
    "AMD": 2,  # 051 Armenian Dram
    "AOA": 2,  # 973 Kwanza
    "ARS": 2,  # 032 Argentine Peso
    "AUD": 2,  # 036 Australian Dollar
    "AWG": 2,  # 533 Aruban Florin
    "AZN": 2,  # 944 Azerbaijan Manat
    "BAM": 2,  # 977 Convertible Mark
    "BBD": 2,  # 052 Barbados Dollar
    "BDT": 2,  # 050 Taka
    "BHD": 3,  # 048 Bahraini Dinar
    "BIF": 0,  # 108 Burundi Franc
    "BMD": 2,  # 060 Bermudian Dollar
    "BND": 2,  # 096 Brunei Dollar
    "BOB": 2,  # 068 Boliviano
    "BOV": 2,  # 984 Mvdol
    "BRL": 2,  # 986 Brazilian Real
    "BSD": 2,  # 044 Bahamian Dollar
    "BTN": 2,  # 064 Ngultrum
    "BWP": 2,  # 072 Pula
    "BYN": 2,  # 933 Belarusian Ruble
    "BZD": 2,  # 084 Belize Dollar
    "CAD": 2,  # 124 Canadian Dollar
    "CDF": 2,  # 976 Congolese Franc
    "CHE": 2,  # 947 WIR Euro
    "CHF": 2,  # 756 Swiss Franc
    "CHW": 2,  # 948 WIR Franc
    "CLF": 4,  # 990 Unidad de Fomento
    "CLP": 0,  # 152 Chilean Peso
    "CNY": 2,  # 156 Yuan Renminbi
    "COP": 2,  # 170 Colombian Peso
    "COU": 2,  # 970 Unidad de Valor Real
    "CRC": 2,  # 188 Costa Rican Colon
    "CUP": 2,  # 192 Cuban Peso
    "CVE": 2,  # 132 Cabo Verde Escudo
    "CZK": 2,  # 203 Czech Koruna
    "DJF": 0,  # 262 Djibouti Franc
    "DKK": 2,  # 208 Danish Krone
    "DOP": 2,  # 214 Dominican Peso
    "DZD": 2,  # 012 Algerian Dinar
    "EGP": 2,  # 818 Egyptian Pound
    "ERN": 2,  # 232 Nakfa
    "ETB": 2,  # 230 Ethiopian Birr
    "EUR": 2,  # 978 Euro
    "FJD": 2,  # 242 Fiji Dollar
    "FKP": 2,  # 238 Falkland Islands Pound
    "GBP": 2,  # 826 Pound Sterling
    "GEL": 2,  # 981 Lari
    "GHS": 2,  # 936 Ghana Cedi
    "GIP": 2,  # 292 Gibraltar Pound
    "GMD": 2,  # 270 Dalasi
    "GNF": 0,  # 324 Guinean Franc
    "GTQ": 2,  # 320 Quetzal
    "GYD": 2,  # 328 Guyana Dollar
    "HKD": 2,  # 344 Hong Kong Dollar
    "HNL": 2,  # 340 Lempira
    "HTG": 2,  # 332 Gourde
    "HUF": 2,  # 348 Forint
    "IDR": 2,  # 360 Rupiah
    "ILS": 2,  # 376 New Israeli Sheqel
    "INR": 2,  # 356 Indian Rupee
    "IQD": 3,  # 368 Iraqi Dinar
    "IRR": 2,  # 364 Iranian Rial
    "ISK": 0,  # 352 Iceland Krona
    "JMD": 2,  # 388 Jamaican Dollar
    "JOD": 3,  # 400 Jordanian Dinar
    "JPY": 0,  # 392 Yen
    "KES": 2,  # 404 Kenyan Shilling
    "KGS": 2,  # 417 Som
    "KHR": 2,  # 116 Riel
    "KMF": 0,  # 174 Comorian Franc
    "KPW": 2,  # 408 North Korean Won
    "KRW": 0,  # 410 Won
    "KWD": 3,  # 414 Kuwaiti Dinar
    "KYD": 2,  # 136 Cayman Islands Dollar
    "KZT": 2,  # 398 Tenge
    "LAK": 2,  # 418 Lao Kip
    "LBP": 2,  # 422 Lebanese Pound
    "LKR": 2,  # 144 Sri Lanka Rupee
    "LRD": 2,  # 430 Liberian Dollar
    "LSL": 2,  # 426 Loti
    "LYD": 3,  # 434 Libyan Dinar
    "MAD": 2,  # 504 Moroccan Dirham
    "MDL": 2,  # 498 Moldovan Leu
    "MGA": 2,  # 969 Malagasy Ariary
    "MKD": 2,  # 807 Denar
    "MMK": 2,  # 104 Kyat
    "MNT": 2,  # 496 Tugrik
    "MOP": 2,  # 446 Pataca
    "MRU": 2,  # 929 Ouguiya
    "MUR": 2,  # 480 Mauritius Rupee
    "MVR": 2,  # 462 Rufiyaa
    "MWK": 2,  # 454 Malawi Kwacha
    "MXN": 2,  # 484 Mexican Peso
    "MXV": 2,  # 979 Mexican Unidad de Inversion (UDI)
    "MYR": 2,  # 458 Malaysian Ringgit
    "MZN": 2,  # 943 Mozambique Metical
    "NAD": 2,  # 516 Namibia Dollar
    "NGN": 2,  # 566 Naira
    "NIO": 2,  # 558 Cordoba Oro
    "NOK": 2,  # 578 Norwegian Krone
    "NPR": 2,  # 524 Nepalese Rupee
    "NZD": 2,  # 554 New Zealand Dollar
    "OMR": 3,  # 512 Rial Omani
    "PAB": 2,  # 590 Balboa
    "PEN": 2,  # 604 Sol
    "PGK": 2,  # 598 Kina
    "PHP": 2,  # 608 Philippine Peso
    "PKR": 2,  # 586 Pakistan Rupee
    "PLN": 2,  # 985 Zloty
    "PYG": 0,  # 600 Guarani
    "QAR": 2,  # 634 Qatari Rial
    "RON": 2,  # 946 Romanian Leu
    "RSD": 2,  # 941 Serbian Dinar
    "RUB": 2,  # 643 Russian Ruble
    "RWF": 0,  # 646 Rwanda Franc
    "SAR": 2,  # 682 Saudi Riyal
    "SBD": 2,  # 090 Solomon Islands Dollar
    "SCR": 2,  # 690 Seychelles Rupee
    "SDG": 2,  # 938 Sudanese Pound
    "SEK": 2,  # 752 Swedish Krona
    "SGD": 2,  # 702 Singapore Dollar
    "SHP": 2,  # 654 Saint Helena Pound
    "SLE": 2,  # 925 Leone
    "SOS": 2,  # 706 Somali Shilling
    "SRD": 2,  # 968 Surinam Dollar
    "SSP": 2,  # 728 South Sudanese Pound
    "STN": 2,  # 930 Dobra
    "SVC": 2,  # 222 El Salvador Colon
    "SYP": 2,  # 760 Syrian Pound
    "SZL": 2,  # 748 Lilangeni
    "THB": 2,  # 764 Baht
    "TJS": 2,  # 972 Somoni
    "TMT": 2,  # 934 Turkmenistan New Manat
    "TND": 3,  # 788 Tunisian Dinar
    "TOP": 2,  # 776 Pa'anga
    "TRY": 2,  # 949 Turkish Lira
    "TTD": 2,  # 780 Trinidad and Tobago Dollar
    "TWD": 2,  # 901 New Taiwan Dollar
    "TZS": 2,  # 834 Tanzanian Shilling
    "UAH": 2,  # 980 Hryvnia
    "UGX": 0,  # 800 Uganda Shilling
    "USD": 2,  # 840 US Dollar
    "USN": 2,  # 997 US Dollar (Next day)
    "UYI": 0,  # 940 Uruguay Peso en Unidades Indexadas (UI)
    "UYU": 2,  # 858 Peso Uruguayo
    "UYW": 4,  # 927 Unidad Previsional
    "UZS": 2,  # 860 Uzbekistan Sum
    "VED": 2,  # 926 Bolívar Soberano
    "VES": 2,  # 928 Bolívar Soberano
    "VND": 0,  # 704 Dong
    "VUV": 0,  # 548 Vatu
    "WST": 2,  # 882 Tala
    "XAD": 2,  # 396 Arab Accounting Dinar
    "XAF": 0,  # 950 CFA Franc BEAC
    "XCD": 2,  # 951 East Caribbean Dollar
    "XCG": 2,  # 532 Caribbean Guilder
    "XOF": 0,  # 952 CFA Franc BCEAO
    "XPF": 0,  # 953 CFP Franc
    "YER": 2,  # 886 Yemeni Rial
    "ZAR": 2,  # 710 Rand
    "ZMW": 2,  # 967 Zambian Kwacha
    "ZWG": 2,  # 924 Zimbabwe Gold
}

#: Codes List One holds without a minor unit (N.A.): not currencies for this library.
NO_MINOR_UNIT: Final = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT",
                                  "XSU", "XTS", "XUA", "XXX"})
