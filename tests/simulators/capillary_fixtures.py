"""The sample requests of the Capillary documents, as published (only the register page's scraped e-mail
placeholder ``[email protected]`` is replaced by an address, since it is not one)."""

from __future__ import annotations

import json
from typing import Any

# capillary-v2-customer-api.md, Register Customer, Sample POST Request (?source=MOBILE_APP&accountId=400).
REGISTER_SAMPLE: dict[str, Any] = json.loads("""
{
   "loyaltyInfo":{"loyaltyType":"loyalty"},
   "associatedWith":"bukl.till",
   "profiles":[
      {
         "commChannels":[
            {"type":"mobilePush","meta":{"lastViewedDate":"2019-10-10T22:04:38+05:30","residence": false,
             "office": false},"verified":"true","primary":"true","value":"abc123456"},
            {"type":"mobile","value":"91901000001","primary":true,"verified":true,
             "meta":{"lastViewedDate": "","residence":true,"office":false}}
         ],
         "firstName":"Tom",
         "lastName":"Sawyer",
         "identifiers":[
            {"type":"email","value":"tom.sawyer@example.com"},
            {"type":"mobile","value":"91901000001"}
         ],
         "source":"MOBILE_APP",
         "fields":{"employee":"true","dateofbirth":"22-10-2000"},
         "accountId":"400"
      }
   ],
   "extendedFields":{"gender":"Male","city":"Bangalore"},
   "loyaltyProgramEnrollments":[{"programId":1016,"tierNumber": 234,"loyaltyPoints": 75,
     "tierExpiryDate": "2022-02-11T16:36:17+05:30","pointsExpiryDate": "2022-02-11T16:36:17+05:30"}]
}
""")

# capillary-v2-register-customer.md, the six sample requests (POST /v2/customers, no query string).
REGISTER_PAGE_SAMPLES: list[dict[str, Any]] = [
    json.loads(sample)
    for sample in (
        """
{"profiles": [{"firstName": "Customer_add_1", "lastName": "Test123",
  "identifiers": [{"type": "mobile", "value": "8795779625"}, {"type": "email", "value": "customer.add1@example.com"}],
  "commChannels": [{"type": "mobile", "value": "8795779625", "primary": "true", "verified": "true",
                    "meta": {"residence": "true"}},
                   {"type": "email", "value": "customer.add1@example.com", "primary": "true", "verified": "true",
                    "meta": {"residence": "true"}}],
  "fields": {}, "source": "INSTORE"}],
 "extendedFields": {},
 "loyaltyProgramEnrollments": [{"programId": 469, "tierNumber": 1, "loyaltyPoints": 0,
   "tierExpiryDate": "2024-05-11T16:36:17+05:30", "pointsExpiryDate": "2024-05-11T16:36:17+05:30"}],
 "referralCode": ""}
""",
        """
{"loyaltyInfo": {"loyaltyType": "loyalty"}, "associatedWith": "bukl.till",
 "profiles": [{"firstName": "Mark12", "lastName": "Twain",
   "identifiers": [{"type": "mobile", "value": "919804542631"}, {"type": "cuid", "value": "cuid_919804542631"},
                   {"type": "unionId", "value": "unionId_919804542631"}],
   "commChannels": [{"type": "mobilePush", "meta": {"lastViewedDate": "2019-10-10T22:04:38+05:30",
                     "residence": false, "office": false}, "verified": "true", "primary": "true",
                     "value": "abc123456"},
                    {"type": "mobile", "value": "919804542631", "primary": true, "verified": true,
                     "meta": {"lastViewedDate": "", "residence": true, "office": false}}],
   "source": "MOBILE_APP", "accountId": "testmobilepush1",
   "fields": {"employee": "true", "dateofbirth": "22-10-2000"}}],
 "extendedFields": {"gender": "Male", "city": "Bangalore"},
 "loyaltyProgramEnrollments": [{"programId": 469, "tierNumber": 1, "loyaltyPoints": 75,
   "tierExpiryDate": "2025-02-11T16:36:17+05:30", "pointsExpiryDate": "2025-02-11T16:36:17+05:30"}]}
""",
        """
{"profiles": [{"firstName": "Mark", "lastName": "Twain",
   "identifiers": [{"type": "email", "value": "mark.twain@example.com"},
                   {"type": "line", "value": "Ud7b7ec422d4914011f9c14b51ff48519"}],
   "commChannels": [{"type": "line", "value": "Ud7b7ec422dd34914011f9c14b51ff48519", "primary": "true",
                     "verified": "true", "meta": {"residence": "true"}}],
   "fields": {"gender": "", "city": ""}, "source": "LINE", "accountId": "2001914141242"}],
 "extendedFields": {}, "referralCode": ""}
""",
        """
{"profiles": [{"firstName": "Tom", "lastName": "Sawyer",
   "identifiers": [{"type": "email", "value": "tom.sawyer@example.com"}, {"type": "mobile", "value": "4567890"},
                   {"type": "cardnumber", "value": "12345678", "seriesId": 73, "statusLabel": "ACTIVE",
                    "extendedFields": {"custom_card_name": "Mystays"}}],
   "fields": {"kanjifirstname": "Tom", "kanjilastname": "Sawyer", "email2": "tom2@example.com",
              "mobile2": "806794111", "fax": "12345678", "customer_address": "abc123"},
   "source": "INSTORE",
   "commChannels": [{"type": "email", "value": "tom.sawyer@example.com", "primary": true, "verified": true,
                     "subscribed": true, "meta": {}}]}],
 "extendedFields": {"zip": "123456", "area": "Test1", "city": "Test2", "state": "Test3",
                    "country_of_residence": "Japan", "gender": "Male", "dob": "1988/05/10",
                    "acquisition_channel": "Microsite", "preferred_language": "Japanese"}}
""",
        """
{"profiles": [{"identifiers": [{"type": "externalId", "value": "879577211225"}], "source": "INSTORE"}]}
""",
        """
{"profiles": [{"firstName": "Customer_add_23", "lastName": "Test123",
   "identifiers": [{"type": "mobile", "value": "8795772341"}, {"type": "email", "value": "customer.add23@example.com"},
                   {"type": "cardnumber", "value": "12345678", "seriesId": 73, "statusLabel": "ACTIVE",
                    "extendedFields": {"custom_card_name": "Mystays"}}],
   "commChannels": [{"type": "mobile", "value": "8795772141", "primary": "true", "verified": "true",
                     "meta": {"residence": "true"}},
                    {"type": "email", "value": "customer.add23@example.com", "primary": "true", "verified": "true",
                     "meta": {"residence": "true"}}],
   "fields": {"employee": "true", "dateofbirth": "22-10-2000"}, "source": "INSTORE"}],
 "extendedFields": {"acquisition_channel": "Facebook"}, "referralCode": "", "statusLabel": "active-1"}
""",
    )
]

# capillary-v2-customer-api.md, Update Customer Details, Sample PUT request
# (https://us.api.capillarytech.com/v2/customers/329?source=WECHAT&accountId=22232).
UPDATE_SAMPLE: dict[str, Any] = json.loads("""
{
   "profiles":[
      {
         "firstName":"Tom",
         "lastName":"Sawyer",
         "fields":{"gender":"Male","city":"Bangalore"},
         "identifiers":[
            {"type":"mobile","value":919111111111},
            {"type":"email","value":"tom.sawyer@example.com"},
            {"type":"wechat","value":"wc_2"}
         ],
         "commChannels":[
            {"type":"email","value":"tom.sawyer@example.com","primary":"true","verified":"false",
             "meta":{"residence":true}},
            {"type":"wechat","value":"wc_2","primary":"true","verified":"true","meta":{"residence":true}}
         ],
         "source":"WECHAT",
         "accountId":"1234"
      }
   ],
   "loyaltyInfo":{"loyaltyType":"loyalty"},
   "extendedFields":{"gender":"MALE","city":"Bangalore"},
   "loyaltyProgramEnrollments":[{"programId":1016,"tierNumber": 234,"loyaltyPoints": 75,
     "tierExpiryDate": "2022-02-11T16:36:17+05:30","pointsExpiryDate": "2022-02-11T16:36:17+05:30"}]
}
""")

# capillary-v2-customer-api.md, Update Customer Identifiers, Sample POST Request
# (/v2/customers/418/changeIdentifier?source=WECHAT&accountId=22232).
CHANGE_IDENTIFIER_SAMPLE: dict[str, Any] = {
    "add": [{"type": "wechat", "value": "ray11"}],
    "remove": [{"type": "email", "value": "tom.sawyer@example.com"}],
}

# capillary-v2-customer-api.md, Update Subscription Details, Sample POST Request.
SUBSCRIPTIONS_SAMPLE: dict[str, Any] = json.loads("""
{
    "communicationId": -1,
    "campaignId": -1,
    "reason": "Example reason",
    "scope": {"scope": "USER", "subScope": "NONE"},
    "subscriptions": [
        {"channel": "EMAIL", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
        {"channel": "MOBILE", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
        {"channel": "EMAIL", "accountId": "", "priority": "TRANS", "type": "OPTIN"},
        {"channel": "MOBILE", "accountId": "123", "priority": "TRANS", "type": "OPTIN"}
    ]
}
""")
