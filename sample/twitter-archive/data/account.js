window.YTD.account.part0 = [
  {
    "account": {
      "email": "demo@example.com",
      "username": "danademo",
      "accountId": "1400000000000000001",
      "createdAt": "2019-05-01T10:00:00.000Z",
      "accountDisplayName": "Dana Demo"
    }
  }
]